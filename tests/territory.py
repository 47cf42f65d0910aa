"""Helpers to build territories in tests (squares in lng/lat)."""
from __future__ import annotations

from tests.infra import Stack


def square(x: float, y: float, size: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]}


CREATE = """mutation($input: CreateRegionInput!) {
  createRegion(input: $input) { id name level code version path { id name } boundary }
}"""


async def create(stack: Stack, token: str | None = None, **input) -> dict:
    body = await stack.gql(CREATE, {"input": input}, token=token)
    assert not body.get("errors"), body["errors"]
    return body["data"]["createRegion"]


async def build_tree(stack: Stack) -> dict[str, str]:
    """city → 2 counties → township each → community (bounded) → two grids (bounded)."""
    ids: dict[str, str] = {}
    ids["city"] = (await create(stack, id="city", name="示例市", level="CITY", code="420900000000"))["id"]
    for c, x0 in (("a", 113.0), ("b", 114.0)):
        ids[f"county_{c}"] = (await create(stack, id=f"county-{c}", name=f"{c}区", level="COUNTY", parentId=ids["city"]))["id"]
        ids[f"town_{c}"] = (await create(stack, id=f"town-{c}", name=f"{c}街道", level="TOWNSHIP",
                                         parentId=ids[f"county_{c}"]))["id"]
        ids[f"comm_{c}"] = (await create(stack, id=f"comm-{c}", name=f"{c}社区", level="COMMUNITY",
                                         parentId=ids[f"town_{c}"], boundary=square(x0, 30.0, 0.02)))["id"]
        for g, dx in (("1", 0.0), ("2", 0.01)):
            ids[f"grid_{c}{g}"] = (await create(stack, id=f"grid-{c}{g}", name=f"{c}社区第{g}网格", level="GRID",
                                                parentId=ids[f"comm_{c}"],
                                                boundary=square(x0 + dx, 30.0, 0.01)))["id"]
    return ids
