// Zoo's account pages: the forms behind the links of its mails, same-origin requests only.
(function () {
  "use strict";

  const root = document.body.dataset.root; // "" or the path prefix the app is mounted under
  const page = document.body.dataset.page;
  const token = new URLSearchParams(window.location.search).get("token");
  const message = document.getElementById("message");
  const login = document.getElementById("login");

  const explanations = {
    INVITATION_BAD_TOKEN: "This invitation link is not valid: it was used, revoked or has expired.",
    INVITATION_USER_ALREADY_EXISTS: "An account with this address exists already: log in, or reset its password.",
    RESET_PASSWORD_BAD_TOKEN: "This reset link is not valid: it was used or has expired. Ask for a new one.",
    VERIFY_USER_BAD_TOKEN: "This confirmation link is not valid: it has expired. Ask for a new one.",
    VERIFY_USER_ALREADY_VERIFIED: "This address is confirmed already.",
    LOGIN_BAD_CREDENTIALS: "Wrong e-mail or password.",
    LOGIN_USER_NOT_VERIFIED: "Confirm your e-mail address first: use the link in your mail.",
    STAFF_MEMBER_ALREADY_LINKED: "The staff member of this invitation has an account already.",
  };

  function say(text, isError) {
    message.textContent = text;
    message.className = isError ? "error" : "";
  }

  async function explain(response) {
    if (response.status === 429) {
      return "Too many attempts; wait a minute and try again.";
    }
    let detail = null;
    try {
      detail = (await response.json()).detail;
    } catch (error) {
      return "The server answered " + response.status + ".";
    }
    if (detail && typeof detail === "object" && detail.reason) {
      return detail.reason;
    }
    if (typeof detail === "string") {
      return explanations[detail] || detail;
    }
    return "Please check what you typed.";
  }

  async function post(path, body) {
    return fetch(root + path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
  }

  function show(id) {
    document.getElementById(id).hidden = false;
  }

  function hide(form) {
    form.hidden = true;
  }

  function newPassword(form) {
    const data = new FormData(form);
    if (data.get("password") !== data.get("confirm")) {
      say("The two passwords differ.", true);
      return null;
    }
    return data.get("password");
  }

  function offerLogin(email) {
    show("login");
    if (email) {
      login.elements.username.value = email;
    }
  }

  function handle(id, submit) {
    const form = document.getElementById(id);
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      say("", false);
      const button = form.querySelector("button");
      button.disabled = true;
      try {
        await submit(form);
      } catch (error) {
        say("Cannot reach the server: " + error, true);
      } finally {
        button.disabled = false;
      }
    });
  }

  handle("accept-invitation", async function (form) {
    const password = newPassword(form);
    if (password === null) return;
    const response = await post("/auth/accept-invitation", { token: token, password: password });
    if (!response.ok) return say(await explain(response), true);
    const user = await response.json();
    hide(form);
    say("Your account is ready.", false);
    offerLogin(user.email);
  });

  handle("reset-password", async function (form) {
    const password = newPassword(form);
    if (password === null) return;
    const response = await post("/auth/reset-password", { token: token, password: password });
    if (!response.ok) return say(await explain(response), true);
    hide(form);
    say("Your password is changed.", false);
    offerLogin(null);
  });

  handle("forgot-password", async function (form) {
    const response = await post("/auth/forgot-password", { email: new FormData(form).get("email") });
    if (!response.ok) return say(await explain(response), true);
    hide(form);
    say("Check your e-mail: if an account has this address, a link is on its way.", false);
  });

  handle("verify", async function (form) {
    const response = await post("/auth/verify", { token: token });
    if (!response.ok) return say(await explain(response), true);
    const user = await response.json();
    hide(form);
    say("Your address is confirmed.", false);
    offerLogin(user.email);
  });

  handle("login", async function (form) {
    const response = await fetch(root + "/auth/cookie/login", {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin",
    });
    if (!response.ok) {
      return say(await explain(response), true);
    }
    hide(form);
    say("", false);
    document.getElementById("email").textContent = form.elements.username.value;
    show("done");
  });

  if (page === "reset-password" && !token) {
    show("forgot-password");
  } else if (token || page === "login") {
    show(page);
  } else {
    say("This page needs the link from your mail (it holds a token).", true);
  }
})();
