"""The relations graph on an entity page, drawn as server-side SVG (no JavaScript).

The entity sits in the middle; related entities are laid out on columns by relation direction
(what it belongs to / depends on on the right, what belongs to / depends on it on the left).
Every node links to its entity page; missing targets are drawn dashed and labelled "missing"."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from catalog.models import Entity, Relation

NODE_W, NODE_H, GAP_Y, COL_X = 190, 42, 14, 300
MAX_NODES = 24
# Relation types pointing "outwards" (this entity uses/belongs to the target).
OUTWARD = {"ownedBy", "partOf", "dependsOn", "consumesApi", "memberOf", "childOf", "providesApi"}


@dataclass(frozen=True)
class Node:
    x: int
    y: int
    label: str
    sublabel: str
    url: str
    missing: bool
    center: bool = False

    @property
    def cx(self) -> int:
        return self.x + NODE_W // 2

    @property
    def cy(self) -> int:
        return self.y + NODE_H // 2


@dataclass(frozen=True)
class Edge:
    x1: int
    y1: int
    x2: int
    y2: int
    label: str
    lx: int
    ly: int
    missing: bool


@dataclass(frozen=True)
class Graph:
    width: int
    height: int
    nodes: list[Node]
    edges: list[Edge]
    hidden: int


def entity_url(ref: str) -> str:
    kind, _, rest = ref.partition(":")
    namespace, _, name = rest.partition("/")
    return reverse("catalog:entity-detail", args=[namespace, kind, name])


def build_graph(entity: Entity, relations: list[Relation]) -> Graph:
    left = [r for r in relations if r.type not in OUTWARD]
    right = [r for r in relations if r.type in OUTWARD]
    hidden = max(0, len(left) - MAX_NODES) + max(0, len(right) - MAX_NODES)
    left, right = left[:MAX_NODES], right[:MAX_NODES]
    rows = max(len(left), len(right), 1)
    height = rows * (NODE_H + GAP_Y) + GAP_Y
    width = 2 * COL_X + NODE_W + 20
    center = Node(
        x=COL_X + 10 - 0,
        y=height // 2 - NODE_H // 2,
        label=entity.display_name[:26],
        sublabel=entity.kind,
        url=entity_url(entity.ref),
        missing=False,
        center=True,
    )
    nodes, edges = [center], []
    for column, items in ((10, left), (2 * COL_X + 10, right)):
        offset = (height - len(items) * (NODE_H + GAP_Y)) // 2
        for i, rel in enumerate(items):
            kind, _, rest = rel.target_ref.partition(":")
            name = rest.partition("/")[2]
            missing = rel.target_id is None
            node = Node(
                x=column,
                y=offset + GAP_Y // 2 + i * (NODE_H + GAP_Y),
                label=(rel.target.display_name if rel.target else name)[:26],
                sublabel=f"{kind}{' · missing' if missing else ''}",
                url=entity_url(rel.target_ref),
                missing=missing,
            )
            nodes.append(node)
            x1 = center.x if column < COL_X else center.x + NODE_W
            x2 = node.x + NODE_W if column < COL_X else node.x
            # Label near the related node, so labels of a fan of edges do not overlap.
            lx = x2 + 55 if column < COL_X else x2 - 55
            edges.append(Edge(x1, center.cy, x2, node.cy, rel.type, lx, node.cy - 6, missing))
    return Graph(width=width, height=height, nodes=nodes, edges=edges, hidden=hidden)
