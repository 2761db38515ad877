"""The web app: a thin HTTP surface over the same library calls the ``sohoa`` CLI makes.

``web.app.create_app(settings)`` builds it; ``sohoa serve`` runs it with uvicorn.
Modules: ``app`` (assembly, error → status mapping), ``auth`` (sessions, tokens,
``require``), ``roles`` (permissions per role, navigation), ``security`` (CSRF,
cookies, headers, body limit, sign-in limits), ``audit`` (audit entries from a
request), ``pages`` (templates), ``i18n`` (per-request language), one
``routes_*.py`` per area of pages and ``api.py`` for ``/api``.

Adding an area (say the auditor's search):

1. ``web/routes_search.py`` with ``router = APIRouter(include_in_schema=False)``;
   each route takes ``Annotated[Principal, Depends(require(Permission.SEARCH))]``,
   calls a function of ``services/`` (limited by ``unit_scope(principal)``),
   writes ``audit(request, Action.SEARCH, hits=len(hits))`` and returns
   ``render(request, "search.html", hits=hits)``.
2. JSON twins go in ``web/api.py`` (or ``web/api_<area>.py`` with prefix ``/api``),
   calling the same library function and returning a pydantic model.
3. Add the router to ``ROUTERS`` in ``web/app.py``; the navigation links the page
   as soon as a GET route serves the path listed in ``web/roles.NAV``.
4. Forms: ``<form method="post">{{ csrf_field() }}…`` — the token is checked for
   every POST app-wide; ``fetch`` uses ``sohoaFetch`` from ``static/app.js``.
5. Texts: keys ``web_…`` in ``sohoa/messages.toml``; errors raise ``sohoa.errors`` types
   and ``web/app.py`` turns them into statuses.
"""
