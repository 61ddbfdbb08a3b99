// GraphiQL for Zoo: same-origin requests only, and a login form that sets the session cookie.
(function () {
  "use strict";

  const session = document.getElementById("zoo-session");
  const root = session.dataset.root; // "" or the path prefix the app is mounted under
  const graphqlUrl = new URL(root + "/graphql", window.location.href);
  const socketUrl = new URL(graphqlUrl);
  socketUrl.protocol = graphqlUrl.protocol === "https:" ? "wss:" : "ws:";

  const loginForm = document.getElementById("zoo-login");
  const userBox = document.getElementById("zoo-user");
  const emailBox = document.getElementById("zoo-email");
  const message = document.getElementById("zoo-message");

  async function whoAmI() {
    const response = await fetch(graphqlUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ query: "{ me { email } }" }),
      credentials: "same-origin",
    });
    const body = await response.json();
    return body.data && body.data.me ? body.data.me.email : null;
  }

  async function showSession() {
    let email = null;
    try {
      email = await whoAmI();
    } catch (error) {
      message.textContent = "Cannot reach the server: " + error;
    }
    loginForm.hidden = email !== null;
    userBox.hidden = email === null;
    emailBox.textContent = email || "";
  }

  loginForm.addEventListener("submit", async function (event) {
    event.preventDefault();
    message.textContent = "";
    const response = await fetch(root + "/auth/cookie/login", {
      method: "POST",
      body: new URLSearchParams(new FormData(loginForm)),
      credentials: "same-origin",
    });
    if (response.ok) {
      loginForm.reset();
    } else if (response.status === 429) {
      message.textContent = "Too many attempts; wait a minute.";
    } else {
      message.textContent = "Wrong email or password.";
    }
    await showSession();
  });

  document.getElementById("zoo-logout").addEventListener("click", async function () {
    await fetch(root + "/auth/cookie/logout", { method: "POST", credentials: "same-origin" });
    await showSession();
  });

  const fetcher = GraphiQL.createFetcher({
    url: graphqlUrl.toString(),
    subscriptionUrl: socketUrl.toString(),
  });
  const explorer = GraphiQLPluginExplorer.explorerPlugin();
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: session.dataset.query,
      defaultEditorToolsVisibility: true,
      plugins: [explorer],
      inputValueDeprecation: true,
      isHeadersEditorEnabled: true,
      // A token typed into the Headers tab stays in this tab, not in the browser's storage.
      shouldPersistHeaders: false,
    }),
  );
  showSession();
})();
