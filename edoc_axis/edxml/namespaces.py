"""XML namespaces the edXML profile speaks."""

from __future__ import annotations

from typing import Final

EDXML_NS: Final = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
DSIG_NS: Final = "http://www.w3.org/2000/09/xmldsig#"
XINCLUDE_NS: Final = "http://www.w3.org/2001/XInclude"
# The 2003 draft namespace is still recognised by libxml2, so it is refused as well.
XINCLUDE_OLD_NS: Final = "http://www.w3.org/2003/XInclude"

# The prefix the reference SDK writes on the envelope's content.
EDXML_PREFIX: Final = "edXML"


def qname(local: str, ns: str = EDXML_NS) -> str:
    """Clark notation ``{ns}local`` as lxml spells element tags."""
    return f"{{{ns}}}{local}"
