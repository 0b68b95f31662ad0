"""XML-*: the XML attack set and schema refusals, one case per corpus entry."""

from __future__ import annotations

from edoc_axis.conformance.context import RunContext
from edoc_axis.conformance.corpus import XML_ATTACKS, Attack
from edoc_axis.conformance.model import Case, CaseFn, Probe


def attack_runner(attack: Attack) -> CaseFn:
    """Forge the corpus entry, post it with the entry's token, require its answer."""

    async def run(ctx: RunContext, probe: Probe) -> None:
        client = ctx.client(attack.role)
        raw = attack.forge(ctx)
        response = await client.request(
            "POST", attack.path, data=raw, content_type="application/xml"
        )
        probe.expect_any(response, attack.answers)

    return run


def attack_case(attack: Attack) -> Case:
    """The conformance case of one corpus entry."""
    expects = " or ".join(f"{status} {code}" for status, code in attack.answers)
    return Case(
        id=attack.id,
        title=attack.title,
        clause=attack.clause,
        required=attack.required,
        sends=f"POST {attack.path} as '{attack.role}': {attack.sends}",
        expects=expects,
        run=attack_runner(attack),
        needs=(attack.role,),
    )


CASES: tuple[Case, ...] = tuple(attack_case(attack) for attack in XML_ATTACKS)
