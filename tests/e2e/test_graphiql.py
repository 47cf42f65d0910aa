"""GraphiQL at /graphql renders in a browser with no internet: everything it loads comes from
the gateway (headless Chromium; skipped where none is installed)."""
from __future__ import annotations

from tests.browser import open_page

RENDERED = "document.querySelector('.graphiql-container .graphiql-query-editor .CodeMirror') !== null"


async def test_graphiql_renders_from_the_gateway_alone(gateway):
    base = f"http://127.0.0.1:{gateway.settings.http_port}"
    async with open_page(f"{base}/graphql") as page:
        # Rendered: the query editor, with the welcome query that tells how to get a token.
        await page.until(RENDERED, timeout=120)
        text = await page.evaluate("document.querySelector('.graphiql-query-editor').innerText")
        assert "yiwang token --role superadmin" in text
        # GraphiQL asked the gateway for the schema (introspection) over the page's own URL.
        await page.until("performance.getEntriesByType('resource').some(e => e.name.endsWith('/graphql'))",
                         timeout=120)
        # The page may open a websocket to the gateway (subscriptions): its policy allows that.
        opened = await page.evaluate(f"""new Promise(done => {{
            const ws = new WebSocket('ws://127.0.0.1:{gateway.settings.http_port}/graphql', 'graphql-transport-ws');
            ws.onopen = () => {{ ws.close(); done(true); }}; ws.onerror = () => done(false); }})""")
        assert opened, page.console
        outside = [u for u in page.requests
                   if not u.startswith((base, f"ws://127.0.0.1:{gateway.settings.http_port}", "data:"))]
        assert outside == [], outside
        assert any(u.endswith("/graphiql/graphiql.min.js") for u in page.requests), page.requests
        # Its schema request carried no token yet: the gateway answers that 401 before reading it
        # (authentication before any work); nothing else went wrong.
        refused = "the server responded with a status of 401 (Unauthorized)"
        errors = [m for m in page.console if m.startswith(("error", "exception")) and refused not in m]
        assert errors == [], errors
        # A query with a token in the Headers tab, run from the editor, answers in the result pane.
        token = gateway.token("admin", region="city", sub="graphiql-user")
        await page.evaluate("""[...document.querySelectorAll('.graphiql-editors button')]
                                 .find(b => b.innerText === 'Headers').click()""")
        await page.evaluate(f"""(() => {{
            document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue('{{ me {{ sub role }} }}');
            document.querySelector('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror').CodeMirror
                .setValue(JSON.stringify({{Authorization: 'Bearer {token}'}}));
            document.querySelector('.graphiql-execute-button').click(); }})()""")
        await page.until("document.querySelector('.graphiql-response').innerText.includes('graphiql-user')", timeout=120)
        # ... and its Content-Security-Policy would refuse anything from elsewhere.
        blocked = await page.evaluate("""new Promise(done => {
            const s = document.createElement('script'); s.src = 'https://unpkg.com/react@18.3.1/umd/react.production.min.js';
            s.onload = () => done(false); s.onerror = () => done(true); document.head.appendChild(s); })""")
        assert blocked
