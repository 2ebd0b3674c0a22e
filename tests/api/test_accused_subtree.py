"""A 检举 case is hidden from the unit it accuses and from every unit below it, on every read path.

C22 art 30 ¶3: the accused must never read the report against them. A unit below the accused one
answers to it, so hiding the case only from the accused unit itself would leak it one level down;
here the case lies squarely in the lower unit's own scope (its home township and its handler).
"""

from __future__ import annotations

from api_world import World

from support.county import CLERK, START, command


def test_a_case_against_a_township_is_hidden_from_its_villages_on_every_read_path(world: World) -> None:
    for cmd in (command("RegisterPetition", START, number="V-9", home_township="village-a1", petitioners=["P-V"],
                        flags=["检举"], accused=["town-a"], subject="检举镇干部"),
                command("ForwardCase", START, case="V-9", to_unit="village-a1")):
        world.ledger.execute(cmd, CLERK)
    assert world.get("/api/cases/V-9", "admin").status_code == 200  # it exists, and the county sees it
    for who in ("village", "handler-a", "head-a"):  # below the accused unit, the accused unit, its head
        for path in ("/api/cases/V-9", "/api/cases/V-9/timeline", "/api/cases/V-9/proof",
                     "/api/cases/V-9/petitioners/P-V?purpose=核实"):
            assert world.get(path, who).status_code == 404, (who, path)
        listing = world.get("/api/cases?limit=500", who)
        assert listing.status_code == 200 and "V-9" not in listing.text, who
        overdue = world.get("/api/overdue?on=2022-12-31", who)
        assert overdue.status_code == 200 and "V-9" not in overdue.text, who
