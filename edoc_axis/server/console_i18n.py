"""The console's words in Vietnamese (the default) and English.

A plain table rather than gettext catalogues: a few dozen phrases, kept next
to each other so that a missing translation is seen in review (and by a test).
"""

from __future__ import annotations

from aiohttp import web

LANGUAGES = ("vi", "en")
DEFAULT = "vi"
LANG_COOKIE = "edoc_lang"

MESSAGES: dict[str, tuple[str, str]] = {
    "title": ("Bảng điều khiển trục", "Axis console"),
    "nav.overview": ("Tổng quan", "Overview"),
    "nav.endpoints": ("Điểm nhận lỗi", "Failing endpoints"),
    "nav.peers": ("Trục kết nối", "Peer axes"),
    "nav.dead_letters": ("Thư chết", "Dead letters"),
    "peers.help": (
        "Các trục khác (trục tỉnh, bộ, quốc gia) mà trục này chuyển tiếp văn bản đến và nhận "
        "từ đó; mỗi trục phục vụ các cơ quan theo mẫu mã. Đang chờ và thư chết là các lần "
        "chuyển tiếp đến trục đó.",
        "The other axes (province, ministry, national) this axis relays documents to and "
        "takes relays from; each serves agencies by code pattern. Pending and dead are "
        "relays to that axis.",
    ),
    "peer": ("Trục", "Axis"),
    "serves": ("Phục vụ", "Serves"),
    "remote_agencies": ("Cơ quan (hoạt động / tắt)", "Agencies (active / disabled)"),
    "directory_version": ("Phiên bản danh bạ", "Directory version"),
    "dead": ("Thư chết", "Dead"),
    "peer.state.active": ("hoạt động", "active"),
    "peer.state.disabled": ("đã tắt", "disabled"),
    "peer.test": ("thử nghiệm", "test"),
    "nav.refusals": ("Từ chối", "Refusals"),
    "nav.trace": ("Tra cứu", "Search"),
    "logout": ("Đăng xuất", "Log out"),
    "login": ("Đăng nhập", "Log in"),
    "login.token": ("Mã thông báo vận hành", "Operator token"),
    "login.help": (
        "Dán mã trong tệp operator.token của trục (như cho /admin/v1).",
        "Paste the token from the axis's operator.token file (as for /admin/v1).",
    ),
    "login.refused": ("Mã không đúng.", "That is not the operator token."),
    "login.expired": (
        "Phiên đã hết hạn, hãy đăng nhập lại.",
        "The session has ended; log in again.",
    ),
    "csrf.refused": (
        "Biểu mẫu đã cũ hoặc không đến từ bảng điều khiển; hãy tải lại trang.",
        "The form is stale or did not come from the console; reload the page.",
    ),
    "overview.traffic": ("Lưu lượng theo giờ (24 giờ)", "Traffic per hour (24 hours)"),
    "overview.per_agency": (
        "Văn bản được nhận theo cơ quan (24 giờ)",
        "Documents accepted per agency (24 hours)",
    ),
    "overview.states": ("Trạng thái chuyển phát", "Delivery states"),
    "overview.oldest": ("Chờ lâu nhất", "Oldest pending"),
    "overview.audit": ("Chuỗi kiểm toán", "Audit chain"),
    "audit.head": ("Đầu chuỗi", "Head"),
    "audit.verify": ("Kiểm tra ngay", "Verify now"),
    "audit.never": ("Chưa kiểm tra từ khi khởi động.", "Not verified since start."),
    "audit.ok": ("Nguyên vẹn", "Intact"),
    "audit.broken": ("BỊ HỎNG", "BROKEN"),
    "audit.entries": ("mục", "entries"),
    "audit.checked_at": ("kiểm tra lúc", "checked at"),
    "agency": ("Cơ quan", "Agency"),
    "name": ("Tên", "Name"),
    "accepted": ("Đã nhận", "Accepted"),
    "delivered": ("Đã chuyển", "Delivered"),
    "refused": ("Bị từ chối", "Refused"),
    "retries": ("Thử lại", "Retries"),
    "dead_lettered": ("Thành thư chết", "Dead-lettered"),
    "pending": ("Đang chờ", "Pending"),
    "state": ("Trạng thái", "State"),
    "count": ("Số lượng", "Count"),
    "none": ("Không có.", "None."),
    "seconds": ("giây", "seconds"),
    "endpoint": ("Điểm nhận", "Endpoint"),
    "breaker": ("Cầu dao", "Breaker"),
    "breaker.closed": ("đóng", "closed"),
    "breaker.open": ("MỞ", "OPEN"),
    "breaker.half_open": ("nửa mở", "half-open"),
    "breaker.untracked": ("không theo dõi", "not tracked"),
    "failures": ("Lỗi liên tiếp", "Consecutive failures"),
    "last_failure": ("Lỗi gần nhất", "Last failure"),
    "endpoints.help": (
        "Cầu dao là của tiến trình này; số thử lại và thư chết lấy từ kho (24 giờ).",
        "Breakers are this process's; retries and dead letters come from the store (24 hours).",
    ),
    "dl.document": ("Văn bản", "Document"),
    "dl.attempts": ("Lần thử", "Attempts"),
    "dl.error": ("Lỗi", "Error"),
    "dl.queued": ("Xếp hàng lúc", "Queued at"),
    "dl.retry": ("Gửi lại", "Retry"),
    "dl.discard": ("Bỏ", "Discard"),
    "dl.confirm_discard": ("Bỏ hẳn thư này?", "Give up on this delivery for good?"),
    "dl.retried": ("Đã xếp hàng gửi lại.", "Queued again."),
    "dl.discarded": ("Đã bỏ.", "Discarded."),
    "dl.more": ("Trang sau", "Next page"),
    "refusals.by_code": ("Từ chối theo mã (24 giờ)", "Refusals by code (24 hours)"),
    "refusals.recent": ("Từ chối gần đây", "Recent refusals"),
    "code": ("Mã", "Code"),
    "detail": ("Chi tiết", "Detail"),
    "at": ("Lúc", "At"),
    "trace.query": ("Mã văn bản (DocumentId) hoặc mã trục", "DocumentId or axis id"),
    "trace.search": ("Tìm", "Search"),
    "trace.none": ("Không tìm thấy văn bản nào.", "No document found."),
    "trace.sender": ("Nơi gửi", "Sender"),
    "trace.subject": ("Trích yếu", "Subject"),
    "trace.received": ("Trục nhận lúc", "Received at"),
    "trace.timeline": ("Diễn biến", "Timeline"),
    "trace.queued": ("xếp hàng chuyển cho", "queued for"),
    "trace.delivered": ("đã chuyển đến", "delivered to"),
    "trace.acked": ("đã được nhận bởi", "acknowledged by"),
    "trace.status": ("trạng thái", "status"),
    "trace.next_attempt": ("Lần thử tiếp", "Next attempt"),
    "trace.accepted": ("trục đã nhận văn bản", "accepted by the axis"),
    "state.pending": ("đang chờ", "pending"),
    "state.delivered": ("đã chuyển", "delivered"),
    "state.acknowledged": ("đã xác nhận", "acknowledged"),
    "state.dead": ("thư chết", "dead"),
    "state.discarded": ("đã bỏ", "discarded"),
    "error.not_found": ("Không tìm thấy.", "Not found."),
}


def language(request: web.Request) -> tuple[str, bool]:
    """The language: ?lang=, else the cookie, else Vietnamese; True when ?lang= chose it."""
    asked = request.query.get("lang")
    if asked in LANGUAGES:
        return asked, True
    kept = request.cookies.get(LANG_COOKIE)
    return (kept if kept in LANGUAGES else DEFAULT), False


def translator(lang: str) -> dict[str, str]:
    index = LANGUAGES.index(lang)
    return {key: pair[index] for key, pair in MESSAGES.items()}
