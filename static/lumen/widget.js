// The chat widget for a shop's pages (docs/care.md, "The embeddable widget"):
//
//   <script src="https://help.example.com/widget.js" data-channel="SITE-KEY" async></script>
//
// A launcher button opens the helpdesk's /chat/ in an iframe. The widget first asks the
// helpdesk for its site's settings; the helpdesk answers only pages of the origins the site
// allows (admin → Widget sites), so anywhere else the widget does not run. The page and the
// chat talk with postMessage, each checking the other's origin. Shop pages call
// LumenChat.identify({external_id, name, email, phone, hash}) for a signed-in customer, before
// or after this script loads (before: see docs/care.md for the two-line stub).
(function () {
  "use strict";
  const STRINGS = /*STRINGS*/{};
  const script = document.currentScript ||
    document.querySelector('script[src*="/widget.js"][data-channel]');
  if (!script || window.__lumenChatWidget) return;
  window.__lumenChatWidget = true;

  const base = new URL(script.src, location.href).origin;
  const channel = script.dataset.channel || "";
  const query = "?channel=" + encodeURIComponent(channel);
  const earlier = window.LumenChat;
  const queued = Array.isArray(earlier) ? earlier : (earlier && Array.isArray(earlier.q) ? earlier.q : []);
  const openedAt = Date.now();
  const VISITOR = "lumen.widget.visitor";
  // The chat's last status in this browsing session (the tab), across the shop's pages.
  const STATUS = "lumen.widget.status:" + channel;

  let identity = null;
  let config = null;
  let language = "zh";
  let T = STRINGS.zh || {};
  let shadow, launcher, panel, bubble, frame = null;
  let frameReady = false;
  let invitation = null;      // accepted, to be said first in the chat
  let invited = false;        // one invitation per page view
  let openWhenReady = false;

  function cleanIdentity(value) {
    if (!value || typeof value !== "object" || typeof value.external_id !== "string") return null;
    // The chat protocol's limits (§1): a longer name or phone is cut, not refused.
    const limits = {external_id: 128, name: 120, email: 254, phone: 32, hash: 128};
    const clean = {};
    for (const [key, limit] of Object.entries(limits)) {
      if (typeof value[key] === "string") clean[key] = value[key].slice(0, limit);
    }
    return clean;
  }

  function pageInfo() {
    return {
      url: location.href.slice(0, 2000),
      title: (document.title || "").slice(0, 300),
      referrer: (document.referrer || "").slice(0, 2000),
    };
  }

  function remember(key, value) {
    try { sessionStorage.setItem(key, value); } catch (error) { /* storage blocked */ }
  }
  function recalled(key) {
    try { return sessionStorage.getItem(key); } catch (error) { return null; }
  }

  function visitorId() {
    try {
      let id = localStorage.getItem(VISITOR);
      if (!id) {
        id = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(36).slice(2);
        localStorage.setItem(VISITOR, id);
      }
      return id;
    } catch (error) {
      return "";
    }
  }

  // The chat in the iframe: only the helpdesk's origin, only that frame.
  function post(message) {
    if (frame && frameReady) frame.contentWindow.postMessage(Object.assign({source: "lumen-widget"}, message), base);
  }
  window.addEventListener("message", (event) => {
    if (event.origin !== base || !frame || event.source !== frame.contentWindow) return;
    const data = event.data;
    if (!data || typeof data !== "object" || data.source !== "lumen-chat") return;
    if (data.type === "ready") {
      frameReady = true;
      post({type: "init", page: pageInfo(), identity: identity, invitation: invitation});
      invitation = null;
    } else if (data.type === "close") {
      closePanel();
    } else if (data.type === "status" && typeof data.status === "string") {
      remember(STATUS, data.status);
    }
  });

  const API = {
    identify(value) {
      identity = cleanIdentity(value);
      post({type: "identify", identity: identity});
    },
    open() { if (config) openPanel(); else openWhenReady = true; },
    close() { closePanel(); },
  };
  window.LumenChat = API;
  for (const call of queued) {
    if (Array.isArray(call) && typeof API[call[0]] === "function") API[call[0]].apply(API, call.slice(1));
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  const STYLE = `
    :host { all: initial; }
    * { box-sizing: border-box; font-family: system-ui, -apple-system, "PingFang SC", "Microsoft YaHei", sans-serif; }
    button { font: inherit; cursor: pointer; }
    .launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; display: flex; align-items: center; gap: .4rem;
      border: 0; border-radius: 999px; padding: .8rem 1.1rem; background: #2b5fd9; color: #fff; font-size: 15px;
      box-shadow: 0 4px 16px rgba(0,0,0,.25); }
    .launcher:focus-visible, .bubble button:focus-visible, .panel button:focus-visible { outline: 3px solid #ffb400; outline-offset: 2px; }
    .panel { position: fixed; right: 20px; bottom: 84px; z-index: 2147483001; width: 380px; height: min(640px, calc(100vh - 110px));
      display: flex; flex-direction: column; background: #fff; border-radius: 12px; overflow: hidden; box-shadow: 0 8px 32px rgba(0,0,0,.3); }
    .panel[hidden], .bubble[hidden] { display: none; }
    .panel-bar { display: flex; justify-content: space-between; align-items: center; padding: .45rem .75rem; background: #2b5fd9; color: #fff; font-size: 14px; }
    .panel-bar button { background: transparent; border: 0; color: #fff; font-size: 22px; line-height: 1; padding: .2rem .4rem; }
    iframe { flex: 1; width: 100%; border: 0; }
    .bubble { position: fixed; right: 20px; bottom: 84px; z-index: 2147483000; max-width: 300px; padding: .9rem 1rem; background: #fff; color: #1d2433;
      border-radius: 12px; box-shadow: 0 6px 24px rgba(0,0,0,.25); font-size: 14px; line-height: 1.45; }
    .bubble p { margin: 0 1.2rem .7rem 0; white-space: pre-wrap; }
    .bubble .actions { display: flex; gap: .5rem; flex-wrap: wrap; }
    .bubble .accept { background: #2b5fd9; color: #fff; border: 0; border-radius: 6px; padding: .45rem .8rem; }
    .bubble .decline { background: #eef1f6; color: #1d2433; border: 0; border-radius: 6px; padding: .45rem .8rem; }
    .bubble .dismiss { position: absolute; top: .3rem; right: .4rem; background: transparent; border: 0; font-size: 18px; color: #667; }
    @media (max-width: 480px) {
      .panel { inset: 0; width: 100%; height: 100%; border-radius: 0; }
      .bubble { left: 12px; right: 12px; max-width: none; }
      .launcher { right: 12px; bottom: 12px; }
    }`;

  function build() {
    const host = element("div");
    host.id = "lumen-chat-widget";
    shadow = host.attachShadow({mode: "open"});
    const style = element("style");
    style.textContent = STYLE;
    launcher = element("button", "launcher", T.launcher);
    launcher.type = "button";
    launcher.setAttribute("aria-expanded", "false");
    launcher.prepend(element("span", "", "💬"));
    launcher.addEventListener("click", () => (panel.hidden ? openPanel() : closePanel()));

    panel = element("div", "panel");
    panel.hidden = true;
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", T.title);
    const bar = element("div", "panel-bar");
    const close = element("button", "close", "×");
    close.type = "button";
    close.setAttribute("aria-label", T.close);
    close.addEventListener("click", closePanel);
    bar.append(element("span", "", T.title), close);
    panel.append(bar);

    bubble = element("div", "bubble");
    bubble.hidden = true;
    bubble.setAttribute("role", "status");
    shadow.append(style, bubble, panel, launcher);
    document.body.append(host);
  }

  function openPanel() {
    bubble.hidden = true;
    if (!frame) {
      frame = element("iframe");
      frame.title = T.title;
      frame.allow = "microphone";
      frame.src = base + config.chat + "&lang=" + language + "&origin=" + encodeURIComponent(location.origin);
      panel.append(frame);
    } else if (invitation && frameReady) {
      post({type: "invitation", invitation: invitation});
      invitation = null;
    }
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
  }

  function closePanel() {
    if (!panel) return;
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  // Proactive invitations: asked once the page has been open long enough (the settings'
  // invite_after), one per page view, never while the chat is open.
  function scheduleInvitations() {
    for (const seconds of (config.invite_after || []).slice(0, 5)) {
      const wait = Math.max(0, seconds * 1000 - (Date.now() - openedAt));
      setTimeout(() => askInvitation(seconds), wait);
    }
  }

  async function askInvitation(seconds) {
    const status = recalled(STATUS);
    if (invited || !panel.hidden || status === "queued" || status === "assigned") return;
    const body = {page: pageInfo(), seconds: seconds, visitor: visitorId(), language: language};
    if (identity) body.identity = identity;
    try {
      const response = await fetch(base + "/api/v1/chat/invitations/" + query, {
        method: "POST", mode: "cors", credentials: "omit",
        headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
      });
      if (!response.ok) return;
      const data = await response.json();
      if (data.invitation && !invited && panel.hidden) showInvitation(data.invitation);
    } catch (error) { /* no invitation this time */ }
  }

  function answer(id, value) {
    return fetch(base + "/api/v1/chat/invitations/" + encodeURIComponent(id) + "/" + query, {
      method: "POST", mode: "cors", credentials: "omit",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify({answer: value}),
    }).catch(() => null);
  }

  function showInvitation(offer) {
    invited = true;
    const text = element("p", "message", offer.message);
    const accept = element("button", "accept", T.accept);
    const decline = element("button", "decline", T.decline);
    const dismiss = element("button", "dismiss", "×");
    for (const button of [accept, decline, dismiss]) button.type = "button";
    dismiss.setAttribute("aria-label", T.dismiss);
    const actions = element("div", "actions");
    actions.append(accept, decline);
    bubble.replaceChildren(text, actions, dismiss);
    bubble.hidden = false;
    accept.addEventListener("click", async () => {
      await answer(offer.id, "accepted");
      invitation = offer.id;
      openPanel();
    });
    const no = () => { bubble.hidden = true; answer(offer.id, "declined"); };
    decline.addEventListener("click", no);
    dismiss.addEventListener("click", no);
  }

  function start(settings) {
    config = settings;
    const wanted = script.dataset.lang || config.language ||
      ((navigator.language || "").toLowerCase().startsWith("en") ? "en" : "zh");
    language = wanted === "en" ? "en" : "zh";
    T = STRINGS[language] || STRINGS.zh || {};
    build();
    scheduleInvitations();
    if (openWhenReady) openPanel();
  }

  function refuse(reason) {
    if (window.console) console.warn("Lumen chat: the widget does not run on " + location.origin + " (" + reason + ")");
  }

  fetch(base + "/api/v1/chat/widget/" + query, {mode: "cors", credentials: "omit"})
    .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
    .then((settings) => {
      if (document.body) start(settings);
      else document.addEventListener("DOMContentLoaded", () => start(settings));
    })
    .catch(refuse);
})();
