// The agent desk: live lists, the open conversation, the composer, alerts.
(function () {
  "use strict";
  const desk = document.getElementById("desk");
  if (!desk) return;
  const T = JSON.parse(document.getElementById("desk-strings").textContent);
  const connection = document.getElementById("desk-connection");
  const listsBox = document.getElementById("desk-lists");
  const conversationId = desk.dataset.conversation || null;
  const list = document.getElementById("desk-messages");
  const typingLine = document.getElementById("desk-typing");
  const form = document.getElementById("desk-composer");
  const input = document.getElementById("desk-input");
  const paneStatus = document.getElementById("pane-status");
  const toasts = document.getElementById("desk-toasts");
  const statusSelect = document.getElementById("agent-status");
  const canned = readJSON("canned-replies") || [];
  const composer = readJSON("desk-composer-config") || {};
  let socket = null;
  let retry = 0;
  let lastSeq = 0;
  let heartbeat = null;
  const pending = new Map();
  let typingSent = false;
  let typingTimer = null;

  function readJSON(id) {
    const element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  function csrfToken() {
    const field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  if (list) {
    for (const item of list.querySelectorAll("li[data-seq]")) lastSeq = Math.max(lastSeq, Number(item.dataset.seq));
    list.scrollTop = list.scrollHeight;
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify(frame)); return true; }
    return false;
  }

  // The team rooms' script (rooms.js) shares this socket: it sends through here and hears
  // every frame this script does not handle.
  window.LumenDesk = {send};

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws/desk/");
    socket.onopen = () => {
      retry = 0;
      connection.textContent = connection.dataset.onlineText;
      connection.classList.add("online");
      clearInterval(heartbeat);
      heartbeat = setInterval(() => send({type: "ping"}), 25000);
      if (conversationId) {
        send({type: "subscribe", conversation: conversationId});
        send({type: "resume", conversation: conversationId, after_seq: lastSeq});
        for (const [clientId, item] of pending) send({type: "message.send", conversation: conversationId, client_id: clientId, body: item.body, attachments: item.attachments});
      }
      refreshLists();
      document.dispatchEvent(new CustomEvent("lumen:desk-open"));
    };
    socket.onmessage = (event) => receive(JSON.parse(event.data));
    socket.onclose = (event) => {
      clearInterval(heartbeat);
      connection.textContent = connection.dataset.offlineText;
      connection.classList.remove("online");
      if (event.code === 4401) { location.href = "/desk/login/?next=" + encodeURIComponent(location.pathname); return; }
      const delay = Math.min(30000, 500 * 2 ** retry) * (0.75 + Math.random() * 0.5);
      retry += 1;
      setTimeout(connect, delay);
    };
  }

  // The lists are fetched again at most once a second, a moment after the "queue" event
  // (more events meanwhile wait for that fetch), and at a random moment of a quarter
  // second: every desk hears the same event, and they do not all ask at once.
  let listsTimer = null;
  let listsAt = 0;
  function refreshLists() {
    if (listsTimer) return;
    const wait = Math.max(150, listsAt + 1000 - Date.now()) + Math.random() * 250;
    listsTimer = setTimeout(async () => {
      listsTimer = null;
      listsAt = Date.now();
      const response = await fetch(desk.dataset.listsUrl, {headers: {"X-Requested-With": "fetch"}});
      if (response.ok) { listsBox.innerHTML = await response.text(); tickWaits(); } // server-rendered, escaped by the template
    }, wait);
  }

  function toast(text, href) {
    const item = document.createElement(href ? "a" : "p");
    item.className = "toast";
    item.textContent = text;
    if (href) item.href = href;
    toasts.append(item);
    setTimeout(() => item.remove(), 8000);
  }

  // A notice (SLA, a ticket for them, a request): a toast in the page's language, and the
  // navigation's unread count goes up. A frame may stand for `count` notices of one batch
  // (a breach job's): the toast shows the first with "+N", the count goes up by all.
  function showNotice(notice) {
    const zh = (document.documentElement.lang || "").toLowerCase().startsWith("zh");
    const count = notice.count || 1;
    const text = zh ? notice.text_zh : notice.text_en;
    const url = count > 1 ? "/desk/notices/" : notice.url || "/desk/notices/";
    toast(count > 1 ? `${text} (+${count - 1})` : text, url);
    const badge = document.getElementById("desk-notice-count");
    if (badge) { badge.textContent = String(Number(badge.textContent || 0) + count); badge.hidden = false; }
  }

  function composing() {
    return (input && input.value.trim()) || (noteInput && noteInput.value.trim()) || panelEditing();
  }

  // Once a form is taking the agent elsewhere (transfer, close, take…), a live event must not
  // reload the page: the reload would cancel the form's redirect and land on the old page.
  let leaving = false;
  document.addEventListener("submit", (event) => { if (!event.defaultPrevented) leaving = true; });
  function reloadPane() {
    if (!leaving && !composing()) location.reload();
  }

  function receive(frame) {
    if (frame.type.startsWith("room")) {
      document.dispatchEvent(new CustomEvent("lumen:desk-frame", {detail: frame}));
      return;
    }
    switch (frame.type) {
      case "queue": return refreshLists();
      case "pong": return;
      case "presence":
        if (statusSelect) { statusSelect.value = frame.status; statusSelect.dataset.status = frame.status; }
        return;
      case "agent_presence": return refreshLists();
      case "assigned":
        refreshLists();
        if (frame.conversation === conversationId) { if (!leaving) location.reload(); return; }
        toast(T.assigned.replace("%(customer)s", frame.customer), "/desk/c/" + frame.conversation + "/");
        return;
      case "invited":
        refreshLists();
        toast(T.invited.replace("%(agent)s", frame.by).replace("%(customer)s", frame.customer), "/desk/c/" + frame.conversation + "/");
        return;
      case "released":
        refreshLists();
        // No longer theirs: back to the lists (a reload would be a 404 once it is someone else's).
        if (frame.conversation === conversationId && !leaving && !composing()) location.assign("/desk/");
        return;
      case "changed":
        if (frame.conversation === conversationId) reloadPane();
        return;
      case "notice": return showNotice(frame.notice);
      case "note":
        if (frame.note.conversation === conversationId) addNote(frame.note);
        return;
      case "message":
        if (frame.message.conversation === conversationId) addMessage(frame.message);
        return;
      case "status":
        if (frame.conversation === conversationId && paneStatus) {
          const changed = paneStatus.dataset.status !== frame.status;
          paneStatus.textContent = T.status[frame.status] || frame.status;
          paneStatus.dataset.status = frame.status;
          if (changed) reloadPane(); // who holds it and what may be done changed
        }
        return;
      case "typing":
        if (frame.conversation === conversationId && typingLine) typingLine.hidden = !frame.on;
        return;
      case "read":
        if (frame.conversation === conversationId && list) {
          for (const item of list.querySelectorAll("li.from-agent[data-seq]")) item.classList.toggle("read", Number(item.dataset.seq) <= frame.up_to_seq);
        }
        return;
      case "error":
        if (frame.client_id && pending.has(frame.client_id)) {
          pending.get(frame.client_id).element.classList.add("failed");
          pending.delete(frame.client_id);
        }
        showError(T.errors[frame.code] || frame.detail);
        return;
    }
  }

  const suggestions = document.getElementById("desk-suggestions");
  let suggestionsTimer = null;
  function refreshSuggestions() {
    if (!suggestions) return;
    clearTimeout(suggestionsTimer);
    suggestionsTimer = setTimeout(async () => {
      const response = await fetch(suggestions.dataset.url, {headers: {"X-Requested-With": "fetch"}});
      if (response.ok) suggestions.innerHTML = await response.text(); // server-rendered and escaped
    }, 300);
  }
  // "Insert" on a suggested or searched article puts it into the reply.
  document.addEventListener("click", (event) => {
    const button = event.target.closest(".insert-article");
    if (!button || !input) return;
    input.value = (input.value ? input.value + "\n" : "") + button.dataset.text;
    input.focus();
  });

  // Knowledge search inside the composer.
  const kbQuery = document.getElementById("kb-query");
  const kbResults = document.getElementById("kb-results");
  let kbTimer = null;
  if (kbQuery) {
    kbQuery.addEventListener("input", () => {
      clearTimeout(kbTimer);
      kbTimer = setTimeout(async () => {
        const query = kbQuery.value.trim();
        if (!query) { kbResults.replaceChildren(); return; }
        const url = composer.kbUrl + "?" + new URLSearchParams({q: query, language: composer.language});
        const response = await fetch(url, {headers: {"X-Requested-With": "fetch"}});
        if (response.ok) kbResults.innerHTML = await response.text(); // server-rendered and escaped
      }, 250);
    });
  }

  function showError(text) {
    let box = document.querySelector(".flash");
    if (!box) { box = document.createElement("ul"); box.className = "flash"; desk.before(box); }
    const item = document.createElement("li");
    item.className = "error";
    item.textContent = text;
    box.replaceChildren(item);
  }

  function timeOf(iso) {
    const time = document.createElement("time");
    time.dateTime = iso;
    time.textContent = new Date(iso).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
    return time;
  }

  function renderMessage(message) {
    const item = document.createElement("li");
    item.className = "message from-" + message.sender;
    item.dataset.seq = message.seq;
    if (message.sender !== "system") {
      const who = document.createElement("span");
      who.className = "sender";
      who.textContent = message.sender === "customer" ? T.customer : message.sender_name;
      item.append(who);
    }
    if (message.body) {
      const body = document.createElement("p");
      body.className = "body";
      body.textContent = message.body;
      item.append(body);
    }
    for (const file of message.attachments || []) item.append(Lumen.renderAttachment(file));
    const meta = message.meta || {};
    if (message.sender === "bot" && meta.action) {
      const understood = document.createElement("p");
      understood.className = "bot-meta";
      const parts = [meta.action];
      if (meta.intent) parts.push(T.intent + " " + meta.intent);
      if (meta.article) parts.push(T.article + " " + meta.article);
      const slots = Object.entries(meta.slots || {}).map(([k, v]) => k + "=" + v).join(", ");
      if (slots) parts.push(slots);
      if (typeof meta.confidence === "number") parts.push(T.confidence + " " + meta.confidence.toFixed(2));
      understood.textContent = T.understood + ": " + parts.join(" · ");
      item.append(understood);
    }
    item.append(timeOf(message.created_at));
    return item;
  }

  function addMessage(message) {
    if (!list) return;
    const mine = message.client_id && pending.get(message.client_id);
    if (mine) { mine.element.remove(); pending.delete(message.client_id); }
    if (list.querySelector('li[data-seq="' + message.seq + '"]')) return;
    const item = renderMessage(message);
    const later = Array.from(list.querySelectorAll("li[data-seq]")).find((el) => Number(el.dataset.seq) > message.seq);
    list.insertBefore(item, later || list.querySelector("li.pending"));
    lastSeq = Math.max(lastSeq, message.seq);
    if (message.sender === "customer") {
      if (typingLine) typingLine.hidden = true;
      refreshSuggestions();
    }
    list.scrollTop = list.scrollHeight;
    if (desk.dataset.mine === "1" && document.visibilityState === "visible") send({type: "read", conversation: conversationId, up_to_seq: lastSeq});
  }

  function addNote(note) {
    if (!list || list.querySelector('li[data-note="' + note.id + '"]')) return;
    const item = document.createElement("li");
    item.className = "message internal-note";
    item.dataset.note = note.id;
    const who = document.createElement("span");
    who.className = "sender";
    who.textContent = T.note + " · " + note.agent;
    const body = document.createElement("p");
    body.className = "body";
    body.textContent = note.body;
    item.append(who, body, timeOf(note.created_at));
    list.insertBefore(item, list.querySelector("li.pending"));
    list.scrollTop = list.scrollHeight;
  }

  function newClientId() {
    return (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  function sendReply(body, attachments) {
    const clientId = newClientId();
    const element = renderMessage({sender: "agent", sender_name: T.you, body: body || "", created_at: new Date().toISOString(), seq: 0, attachments: []});
    element.classList.add("pending");
    list.append(element);
    list.scrollTop = list.scrollHeight;
    pending.set(clientId, {body, attachments, element});
    send({type: "message.send", conversation: conversationId, client_id: clientId, body: body || "", attachments: attachments || []});
  }

  // Canned replies: "/" at the start of the reply lists them; Enter or a click picks one.
  const cannedList = document.getElementById("canned-list");
  let cannedChoices = [];
  let cannedIndex = 0;
  function showCanned() {
    const text = input.value;
    if (!text.startsWith("/") || text.includes("\n") || !canned.length) { cannedList.hidden = true; cannedChoices = []; return; }
    const wanted = text.slice(1).toLowerCase();
    cannedChoices = canned.filter((r) => r.shortcut.startsWith(wanted) || r.title.toLowerCase().includes(wanted)).slice(0, 8);
    cannedIndex = 0;
    cannedList.replaceChildren(...cannedChoices.map((reply, index) => {
      const option = document.createElement("li");
      option.role = "option";
      option.dataset.index = index;
      option.setAttribute("aria-selected", index === cannedIndex ? "true" : "false");
      const code = document.createElement("strong");
      code.textContent = "/" + reply.shortcut;
      option.append(code, " " + reply.title);
      return option;
    }));
    cannedList.hidden = cannedChoices.length === 0;
  }
  function pickCanned(index) {
    const reply = cannedChoices[index];
    if (!reply) return false;
    input.value = reply.body;
    cannedList.hidden = true;
    cannedChoices = [];
    input.focus();
    return true;
  }
  function markCanned() {
    for (const option of cannedList.children) option.setAttribute("aria-selected", Number(option.dataset.index) === cannedIndex ? "true" : "false");
  }

  if (form) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const body = input.value.trim();
      if (!body) return;
      sendReply(body, []);
      input.value = "";
      stopTyping();
    });
    input.addEventListener("keydown", (event) => {
      if (cannedChoices.length) {
        if (event.key === "ArrowDown" || event.key === "ArrowUp") {
          event.preventDefault();
          cannedIndex = (cannedIndex + (event.key === "ArrowDown" ? 1 : cannedChoices.length - 1)) % cannedChoices.length;
          markCanned();
          return;
        }
        if ((event.key === "Enter" || event.key === "Tab") && !event.isComposing) { event.preventDefault(); pickCanned(cannedIndex); return; }
        if (event.key === "Escape") { cannedList.hidden = true; cannedChoices = []; return; }
      }
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); form.requestSubmit(); }
    });
    cannedList.addEventListener("mousedown", (event) => {
      const option = event.target.closest("li[data-index]");
      if (option) { event.preventDefault(); pickCanned(Number(option.dataset.index)); }
    });
    input.addEventListener("input", () => {
      showCanned();
      if (!typingSent && input.value && !input.value.startsWith("/")) typingSent = send({type: "typing", conversation: conversationId, on: true});
      clearTimeout(typingTimer);
      typingTimer = setTimeout(stopTyping, 3000);
    });
    const file = document.getElementById("desk-file");
    file.addEventListener("change", async () => {
      const chosen = file.files[0];
      file.value = "";
      if (!chosen) return;
      const data = new FormData();
      data.append("file", chosen);
      toast(T.uploading);
      const response = await fetch(composer.uploadUrl, {method: "POST", body: data, headers: {"X-CSRFToken": csrfToken(), "X-Requested-With": "fetch"}});
      const answer = await response.json().catch(() => ({}));
      if (!response.ok) { showError(T.upload_failed.replace("%(reason)s", answer.detail || response.status)); return; }
      sendReply("", [answer.id]);
    });
  }
  function stopTyping() {
    clearTimeout(typingTimer);
    if (typingSent) send({type: "typing", conversation: conversationId, on: false});
    typingSent = false;
  }

  // Internal notes: posted over HTTP, shown to everyone of the conversation through the socket.
  const noteForm = document.getElementById("note-composer");
  const noteInput = document.getElementById("note-input");
  if (noteForm) {
    noteForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = noteInput.value.trim();
      if (!body) return;
      const response = await fetch(noteForm.action, {method: "POST", body: new FormData(noteForm), headers: {"X-Requested-With": "fetch"}});
      if (response.ok) { noteInput.value = ""; return; }
      const answer = await response.json().catch(() => ({}));
      showError(answer.detail || T.errors.not_found);
    });
  }

  // The customer 360° panel: its forms answer with the refreshed panel (400: with the reason),
  // server-rendered and escaped by the template; without script they post and come back.
  const panel = document.getElementById("customer-panel");
  function panelEditing() {
    if (!panel) return false;
    return [...panel.querySelectorAll("textarea, input[name=name]")].some((field) => field.value.trim() && field.value !== field.defaultValue);
  }
  if (panel) {
    panel.addEventListener("submit", async (event) => {
      const target = event.target;
      event.preventDefault();
      // A search or a preview (GET) answers with the panel too, showing what was asked for.
      const asking = (target.getAttribute("method") || "get").toLowerCase() === "get";
      const headers = {"X-Requested-With": "fetch"};
      const response = asking
        ? await fetch(target.action + "?" + new URLSearchParams(new FormData(target)), {headers})
        : await fetch(target.action, {method: "POST", body: new FormData(target), headers});
      if (response.ok || response.status === 400) {
        panel.innerHTML = await response.text();
        const focus = panel.querySelector("[data-focus]");
        if (focus) focus.focus();
        const error = panel.querySelector(".panel-error");
        if (error) { error.tabIndex = -1; error.focus(); }
        return;
      }
      showError(T.panel_failed);
    });
  }

  // The agent's status: a change is saved at once.
  if (statusSelect) statusSelect.addEventListener("change", () => { leaving = true; statusSelect.form.submit(); });

  // "waiting 3 min" in the queues, kept current.
  function tickWaits() {
    const now = Date.now();
    for (const since of document.querySelectorAll(".since[data-since]")) {
      const minutes = Math.max(0, Math.floor((now - Date.parse(since.dataset.since)) / 60000));
      since.textContent = T.minutes.replace("%(n)s", minutes);
    }
  }
  setInterval(tickWaits, 30000);
  tickWaits();

  connect();
})();
