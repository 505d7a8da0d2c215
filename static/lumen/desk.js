// The agent desk: a live list of conversations and the open conversation's pane.
(function () {
  "use strict";
  const desk = document.getElementById("desk");
  const T = JSON.parse(document.getElementById("desk-strings").textContent);
  const connection = document.getElementById("desk-connection");
  const listsBox = document.getElementById("desk-lists");
  const conversationId = desk.dataset.conversation || null;
  const list = document.getElementById("desk-messages");
  const typingLine = document.getElementById("desk-typing");
  const form = document.getElementById("desk-composer");
  const input = document.getElementById("desk-input");
  const paneStatus = document.getElementById("pane-status");
  let socket = null;
  let retry = 0;
  let lastSeq = 0;
  const pending = new Map();
  let typingSent = false;
  let typingTimer = null;

  if (list) {
    for (const item of list.querySelectorAll("li[data-seq]")) lastSeq = Math.max(lastSeq, Number(item.dataset.seq));
    list.scrollTop = list.scrollHeight;
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify(frame)); return true; }
    return false;
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws/desk/");
    socket.onopen = () => {
      retry = 0;
      connection.textContent = connection.dataset.onlineText;
      connection.classList.add("online");
      if (conversationId) {
        send({type: "subscribe", conversation: conversationId});
        send({type: "resume", conversation: conversationId, after_seq: lastSeq});
        for (const [clientId, item] of pending) send({type: "message.send", conversation: conversationId, client_id: clientId, body: item.body});
      }
      refreshLists();
    };
    socket.onmessage = (event) => receive(JSON.parse(event.data));
    socket.onclose = (event) => {
      connection.textContent = connection.dataset.offlineText;
      connection.classList.remove("online");
      if (event.code === 4401) { location.href = "/desk/login/?next=" + encodeURIComponent(location.pathname); return; }
      const delay = Math.min(30000, 500 * 2 ** retry) * (0.75 + Math.random() * 0.5);
      retry += 1;
      setTimeout(connect, delay);
    };
  }

  let listsTimer = null;
  function refreshLists() {
    clearTimeout(listsTimer);
    listsTimer = setTimeout(async () => {
      const response = await fetch(desk.dataset.listsUrl, {headers: {"X-Requested-With": "fetch"}});
      if (response.ok) listsBox.innerHTML = await response.text(); // server-rendered, escaped by the template
    }, 150);
  }

  function receive(frame) {
    switch (frame.type) {
      case "queue": return refreshLists();
      case "message":
        if (frame.message.conversation === conversationId) addMessage(frame.message);
        return;
      case "status":
        if (frame.conversation === conversationId && paneStatus) {
          paneStatus.textContent = T.status[frame.status] || frame.status;
          paneStatus.dataset.status = frame.status;
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
  if (suggestions) {
    suggestions.addEventListener("click", (event) => {
      const button = event.target.closest(".insert-article");
      if (!button || !input) return;
      input.value = (input.value ? input.value + "\n" : "") + button.dataset.text;
      input.focus();
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
    const time = document.createElement("time");
    time.dateTime = message.created_at;
    time.textContent = new Date(message.created_at).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
    item.append(time);
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

  if (form) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const body = input.value.trim();
      if (!body) return;
      const clientId = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2);
      const element = renderMessage({sender: "agent", sender_name: T.you, body: body, created_at: new Date().toISOString(), seq: 0});
      element.classList.add("pending");
      list.append(element);
      list.scrollTop = list.scrollHeight;
      pending.set(clientId, {body, element});
      send({type: "message.send", conversation: conversationId, client_id: clientId, body: body});
      input.value = "";
      stopTyping();
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); form.requestSubmit(); }
    });
    input.addEventListener("input", () => {
      if (!typingSent && input.value) typingSent = send({type: "typing", conversation: conversationId, on: true});
      clearTimeout(typingTimer);
      typingTimer = setTimeout(stopTyping, 3000);
    });
  }
  function stopTyping() {
    clearTimeout(typingTimer);
    if (typingSent) send({type: "typing", conversation: conversationId, on: false});
    typingSent = false;
  }

  connect();
})();
