"""monday's tools, by resource."""

from connections.providers.monday.tools import boards, items, updates

TOOLS = (*boards.TOOLS, *items.TOOLS, *updates.TOOLS)
