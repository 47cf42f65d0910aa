// GraphiQL on the gateway's /graphql page, from the files next to this one (no CDN).
// Queries go to the page's own URL; subscriptions over graphql-transport-ws on the same path,
// with the Headers tab's JSON as the connection_init payload (where the gateway reads the token).
(function () {
  "use strict";

  var WELCOME = [
    "# Yiwang (一网统管) GraphQL",
    "#",
    "# Every request carries a token. Mint one in a terminal:",
    "#",
    "#   .venv/bin/yiwang token --role superadmin",
    "#",
    "# and put it in the Headers tab below:",
    "#",
    '#   {"Authorization": "Bearer <the token>"}',
    "#",
    "# Ctrl-Enter runs the query; Ctrl-Space completes; the Docs button shows the schema.",
    "",
    "{",
    "  me { sub role region { name } }",
    '  overview(regionId: "demo-city") {',
    "    region { name }",
    "    cases { total open overdue satisfactionRate }",
    "  }",
    "}",
    "",
  ].join("\n");

  // ?query=…&variables=… in the address, as GraphiQL's own pages do, so a query can be linked to.
  var params = new URLSearchParams(window.location.search);
  var url = window.location.href.split(/[?#]/)[0];
  var ws = new URL(url);
  ws.protocol = ws.protocol === "https:" ? "wss:" : "ws:";

  function updateURL(key, value) {
    if (value) params.set(key, value);
    else params.delete(key);
    var search = params.toString();
    history.replaceState(null, "", search ? "?" + search : window.location.pathname);
  }

  var fetcher = GraphiQL.createFetcher({ url: url, subscriptionUrl: ws.toString() });

  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: WELCOME,
      query: params.get("query") || undefined,
      variables: params.get("variables") || undefined,
      defaultHeaders: '{"Authorization": "Bearer "}',
      onEditQuery: function (q) { updateURL("query", q); },
      onEditVariables: function (v) { updateURL("variables", v); },
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      inputValueDeprecation: true,
    })
  );
})();
