// Team rooms on every desk page: the navigation's unread counts, toasts and browser
// notifications for mentions and urgent messages, and, on a room's page, its messages
// kept live (docs/rooms.md). On the desk's main page this shares desk.js's socket;
// elsewhere it opens its own.
(function () {
  "use strict";
  const config = readJSON("rooms-config");
  if (!config) return;
  const T = config.strings;
  const counts = readJSON("room-counts") || {};
  const page = document.getElementById("room-page");
  const roomId = page ? Number(page.dataset.room) : null;
  const list = document.getElementById("room-messages");
  const composer = document.getElementById("room-composer");
  const toasts = document.getElementById("desk-toasts");
  const connection = document.getElementById("desk-connection");
  let lastRev = page ? Number(page.dataset.lastRev) : 0;
  let lastSeq = page ? Number(page.dataset.lastSeq) : 0;
  let send = () => false;

  function readJSON(id) {
    const element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  function csrfToken() {
    const field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, (_, key) => values[key] ?? "");
  }

  // --- the navigation's counts -------------------------------------------------------
  function showCounts() {
    let unread = 0, mentions = 0;
    for (const room of Object.values(counts)) { unread += room.unread; mentions += room.mentions; }
    const unreadBadge = document.getElementById("room-unread-count");
    const mentionBadge = document.getElementById("room-mention-count");
    if (unreadBadge) { unreadBadge.textContent = String(unread); unreadBadge.hidden = unread === 0; }
    if (mentionBadge) { mentionBadge.textContent = "@" + mentions; mentionBadge.hidden = mentions === 0; }
    for (const item of document.querySelectorAll(".room-item[data-room]")) {
      const room = counts[item.dataset.room] || {unread: 0, mentions: 0};
      const badge = item.querySelector(".room-unread");
      const mention = item.querySelector(".room-mentions");
      if (badge) { badge.textContent = String(room.unread); badge.hidden = room.unread === 0; }
      if (mention) { mention.textContent = "@" + room.mentions; mention.hidden = room.mentions === 0; }
    }
  }

  function toast(text, href, urgent) {
    if (!toasts) return;
    const item = document.createElement(href ? "a" : "p");
    item.className = "toast room-toast" + (urgent ? " urgent" : "");
    item.textContent = text;
    if (href) item.href = href;
    toasts.append(item);
    setTimeout(() => item.remove(), urgent ? 20000 : 8000);
  }

  function notify(title, body, href) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    try {
      const note = new Notification(title, {body: body.slice(0, 140), tag: href});
      note.onclick = () => { window.focus(); location.assign(href); };
    } catch (error) { /* a page that may not show notifications still has the toast */ }
  }

  const notifyButton = document.getElementById("rooms-notify");
  if (notifyButton) {
    notifyButton.hidden = !("Notification" in window) || Notification.permission === "granted";
    notifyButton.addEventListener("click", async () => {
      if (await Notification.requestPermission() === "granted") { notifyButton.hidden = true; toast(T.enabled); }
    });
  }

  function roomTitle(id) { return (counts[String(id)] || {}).title || ""; }
  function messageUrl(message) {
    const base = "/desk/rooms/" + message.room + "/";
    return message.parent ? base + "m/" + message.parent + "/#m-" + message.id : base + "#m-" + message.id;
  }

  // --- frames ------------------------------------------------------------------------
  const seen = new Map(); // message id → the highest rev this page has had of it

  function viewing(message) {
    return roomId === message.room && document.visibilityState === "visible";
  }

  function onMessage(message) {
    const known = seen.get(message.id) || 0;
    if (message.rev <= known) return; // twice (a resume crossing a live frame) is once
    seen.set(message.id, message.rev);
    const fresh = known === 0 && message.event === "new";
    if (message.room === roomId) { lastSeq = Math.max(lastSeq, message.seq); refreshRoom(); }
    if (!fresh || message.author === config.me || message.deleted) return;
    const room = counts[String(message.room)] || (counts[String(message.room)] = {title: "", unread: 0, mentions: 0});
    const mentioned = message.mentions.includes(config.me);
    const shown = message.body || (message.attachments || []).map((file) => "📎 " + file.name).join(" ");
    const text = message.author_name + ": " + shown;
    if (viewing(message)) {
      markRead();
    } else {
      room.unread += 1;
      if (mentioned) room.mentions += 1;
      showCounts();
    }
    const urgentForMe = message.urgent && message.urgent.addressees.some((a) => a.agent === config.me);
    if (mentioned || urgentForMe) {
      const template = urgentForMe ? T.urgent : T.mentioned;
      const title = fill(template, {author: message.author_name, room: roomTitle(message.room)});
      toast(title + " — " + shown.slice(0, 80), messageUrl(message), urgentForMe);
      if (document.visibilityState !== "visible" || message.room !== roomId) notify(title, text, messageUrl(message));
    }
  }

  function receive(frame) {
    switch (frame.type) {
      case "room.message": return onMessage(frame.message);
      case "rooms.read": {
        const room = counts[String(frame.room)] || (counts[String(frame.room)] = {title: ""});
        room.unread = frame.unread;
        room.mentions = frame.mentions;
        return showCounts();
      }
      case "rooms.unread":
        for (const [id, value] of Object.entries(frame.rooms)) {
          counts[id] = Object.assign(counts[id] || {title: ""}, value);
        }
        for (const id of Object.keys(counts)) if (!(id in frame.rooms)) delete counts[id];
        return showCounts();
      case "rooms.reminder": {
        const message = frame.message;
        const title = fill(T.reminder, {author: message.author_name, room: roomTitle(message.room)});
        toast(title, messageUrl(message), true);
        notify(title, message.body, messageUrl(message));
        return;
      }
      case "rooms.changed":
        return send({type: "rooms.unread"});
      case "room.resumed":
        return;
    }
  }

  function opened() {
    send({type: "rooms.unread"});
    if (roomId) { send({type: "room.resume", room: roomId, after_rev: lastRev}); refreshRoom(); markRead(); }
  }

  // --- the room's page ---------------------------------------------------------------
  let refreshing = null;
  let again = false;
  async function refreshRoom() {
    if (!page || !list) return;
    if (refreshing) { again = true; return; }
    refreshing = (async () => {
      const response = await fetch(page.dataset.changesUrl + "?after_rev=" + lastRev, {headers: {"X-Requested-With": "fetch"}});
      if (response.ok) place(await response.text()); // server-rendered, escaped by the template
    })();
    try { await refreshing; } finally { refreshing = null; }
    if (again) { again = false; refreshRoom(); }
  }

  function belongsHere(item) {
    if (page.dataset.view === "thread") return item.dataset.parent === page.dataset.thread || item.dataset.id === page.dataset.thread;
    if (page.dataset.tag) return item.querySelector(".tag-" + page.dataset.tag) !== null;
    return item.dataset.parent === "";
  }

  function place(html) {
    const box = document.createElement("template");
    box.innerHTML = html;
    for (const item of box.content.querySelectorAll("li.room-message")) {
      lastRev = Math.max(lastRev, Number(item.dataset.rev));
      seen.set(item.dataset.id, Math.max(seen.get(item.dataset.id) || 0, Number(item.dataset.rev)));
      const existing = document.getElementById(item.id);
      if (existing) {
        // Not while the agent is typing in it (an open edit form).
        const typing = existing.contains(document.activeElement) && /^(TEXTAREA|INPUT|SELECT)$/.test(document.activeElement.tagName);
        if (Number(existing.dataset.rev) < Number(item.dataset.rev) && !typing) existing.replaceWith(item);
      } else if (belongsHere(item) && item.dataset.id !== page.dataset.thread) {
        const empty = list.querySelector("li.empty");
        if (empty) empty.remove();
        const after = [...list.querySelectorAll("li.room-message")].find((li) => Number(li.dataset.seq) > Number(item.dataset.seq));
        list.insertBefore(item, after || null);
        if (!after) item.scrollIntoView({block: "end"});
      }
    }
  }

  let readTimer = null;
  function markRead() {
    if (!roomId || document.visibilityState !== "visible") return;
    clearTimeout(readTimer);
    readTimer = setTimeout(() => {
      if (!send({type: "room.read", room: roomId, up_to_seq: lastSeq})) {
        const body = new FormData();
        body.append("up_to_seq", String(lastSeq));
        fetch(page.dataset.readUrl, {method: "POST", body, headers: {"X-CSRFToken": csrfToken(), "X-Requested-With": "fetch"}});
      }
    }, 200);
  }
  document.addEventListener("visibilitychange", markRead);

  // Attachments: uploaded as soon as they are chosen, shown in the composer until sent
  // with the message (their ids in `attachments`). Without script the file goes with the form.
  const fileInput = document.getElementById("room-file");
  const pendingList = document.getElementById("room-pending");
  function sizeText(bytes) {
    return bytes < 1024 * 1024 ? Math.max(1, Math.round(bytes / 1024)) + " KB" : (bytes / 1048576).toFixed(1) + " MB";
  }
  function addPending(file) {
    const item = document.createElement("li");
    item.className = "room-pending-file";
    item.dataset.id = file.id;
    const label = document.createElement("span");
    label.textContent = "📎 " + file.name + " (" + sizeText(file.size) + ")";
    const field = document.createElement("input");
    field.type = "hidden";
    field.name = "attachments";
    field.value = file.id;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link";
    remove.textContent = "×";
    remove.setAttribute("aria-label", fill(T.remove, {name: file.name}));
    remove.addEventListener("click", () => item.remove());
    item.append(label, field, remove);
    pendingList.append(item);
  }
  if (fileInput && pendingList && composer) {
    fileInput.addEventListener("change", async () => {
      const chosen = [...fileInput.files];
      fileInput.value = ""; // sent once, by this upload, not again with the form
      for (const file of chosen) {
        const data = new FormData();
        data.append("file", file);
        toast(fill(T.uploading, {name: file.name}));
        const response = await fetch(composer.dataset.uploadUrl, {method: "POST", body: data, headers: {"X-CSRFToken": csrfToken(), "X-Requested-With": "fetch"}});
        const answer = await response.json().catch(() => ({}));
        if (!response.ok) { toast(fill(T.upload_failed, {reason: answer.detail || response.status}), null, true); continue; }
        addPending(answer);
      }
      document.getElementById("room-body").focus();
    });
  }

  // Forms on the room's page go by fetch; the change comes back over the socket.
  if (page) {
    page.addEventListener("submit", async (event) => {
      const form = event.target;
      if (!form.action.includes("/desk/rooms/" + roomId + "/") || form.action.endsWith("/leave/") || form.action.endsWith("/members/")) return;
      event.preventDefault();
      if (form === composer && !form.elements.body.value.trim() && !form.querySelector("input[name=attachments]")) {
        form.elements.body.focus();
        return;
      }
      const body = new FormData(form);
      if (form === composer) body.set("client_id", crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random());
      const response = await fetch(form.action, {method: "POST", body, headers: {"X-CSRFToken": csrfToken(), "X-Requested-With": "fetch"}});
      const answer = await response.json().catch(() => ({}));
      if (!response.ok) { toast(fill(T.failed, {reason: answer.detail || response.status})); return; }
      if (form === composer) { form.reset(); if (pendingList) pendingList.replaceChildren(); document.getElementById("room-body").focus(); }
      const details = form.closest("details");
      if (details) details.open = false;
      refreshRoom();
    });
    const input = document.getElementById("room-body");
    if (input) input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); composer.requestSubmit(); }
    });
    const target = location.hash && document.getElementById(location.hash.slice(1));
    if (target) target.scrollIntoView({block: "center"}); else if (list) list.scrollTop = list.scrollHeight;
  }

  // --- the socket --------------------------------------------------------------------
  if (window.LumenDesk) {
    send = window.LumenDesk.send;
    document.addEventListener("lumen:desk-frame", (event) => receive(event.detail));
    document.addEventListener("lumen:desk-open", opened);
  } else {
    let socket = null, retry = 0, heartbeat = null;
    send = (frame) => {
      if (socket && socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify(frame)); return true; }
      return false;
    };
    const connect = () => {
      const scheme = location.protocol === "https:" ? "wss://" : "ws://";
      socket = new WebSocket(scheme + location.host + "/ws/desk/");
      socket.onopen = () => {
        retry = 0;
        if (connection) { connection.textContent = connection.dataset.onlineText; connection.classList.add("online"); }
        clearInterval(heartbeat);
        heartbeat = setInterval(() => send({type: "ping"}), 25000);
        opened();
      };
      socket.onmessage = (event) => receive(JSON.parse(event.data));
      socket.onclose = (event) => {
        clearInterval(heartbeat);
        if (connection) { connection.textContent = connection.dataset.offlineText; connection.classList.remove("online"); }
        if (event.code === 4401) return;
        const delay = Math.min(30000, 500 * 2 ** retry) * (0.75 + Math.random() * 0.5);
        retry += 1;
        setTimeout(connect, delay);
      };
    };
    connect();
  }
  showCounts();
})();
