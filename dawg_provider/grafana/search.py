"""Search: finding dashboards by tag, folder and uid, and what search must not decide.

Why hits are filtered again here: SQL search ANDs repeated `tag` filters, but when
unified search serves the request (13.x, and 12.x with `unifiedStorageSearchUI`) a
repeated `tag` becomes an "in" requirement that bleve ORs
(pkg/storage/unified/search `anyRequirementValueQuery`). Asking for DAWG's two tags
would then list every dashboard carrying either, for example every dashboard of
every other DAWG owner. So each hit must carry every tag asked for, checked here.

The unified index also lags behind writes (no search-after-write guarantee), so
search only proposes: whatever DAWG deletes is re-read by uid first, and a folder's
emptiness comes from its counts endpoint (`folders.py`), never from search.
Pages are never over 5000 (Grafana answers 422 above).
"""

from __future__ import annotations

from collections.abc import Iterator

from ..errors import GrafanaError
from . import ownership
from .models import SearchHit
from .responses import json_body
from .transport import Transport

MAX_SEARCH_PAGE = 5000


def has_all_tags(hit: SearchHit, tags: tuple[str, ...]) -> bool:
    return set(tags) <= set(hit.tags)


class Search(Transport):
    """The search operations of the client."""

    def search(
        self,
        *,
        query: str | None = None,
        tags: tuple[str, ...] = (),
        folder_uids: tuple[str, ...] = (),
        dashboard_uids: tuple[str, ...] = (),
        type: str | None = "dash-db",
        page_size: int = 1000,
    ) -> Iterator[SearchHit]:
        """Every hit carrying all of `tags`, page by page (pages never over 5000)."""
        size = max(1, min(page_size, MAX_SEARCH_PAGE))
        page = 1
        while True:
            params: list[tuple[str, str | int]] = [("limit", size), ("page", page)]
            if query:
                params.append(("query", query))
            if type:
                params.append(("type", type))
            params += [("tag", tag) for tag in tags]
            params += [("folderUIDs", uid) for uid in folder_uids]
            params += [("dashboardUIDs", uid) for uid in dashboard_uids]
            hits = json_body(self._request("GET", "/api/search", "search", params=params, retry_500=True))
            if not isinstance(hits, list):
                raise GrafanaError("GET", "/api/search", "search", 200, "the answer is not a list", None)
            for row in hits:
                if not isinstance(row, dict):
                    continue
                hit = SearchHit.from_row(row)
                if has_all_tags(hit, tags):
                    yield hit
            if len(hits) < size:
                return
            page += 1

    def managed_dashboards(self, owner: str) -> list[SearchHit]:
        """Dashboards that `owner` wrote, by DAWG's ownership tags (all of them, checked per hit)."""
        return list(self.search(tags=(ownership.MANAGED_TAG, ownership.owner_tag(owner))))
