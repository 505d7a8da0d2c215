// The customer chat: speaks chat protocol v1 (docs/chat-protocol.md).
// Reconnects with backoff, resumes from the last seq it has, and re-sends
// unsent messages with their client_id so nothing is lost or stored twice.
// Framed by the widget (widget.js), it takes the shop page, the signed-in customer and an
// accepted invitation from its parent page, whose origin only it listens to and posts to.
(function () {
  "use strict";
  const root = document.getElementById("chat");
  const T = JSON.parse(document.getElementById("chat-strings").textContent);
  const C = JSON.parse(document.getElementById("chat-config").textContent);
  const language = root.dataset.language;
  const list = document.getElementById("chat-messages");
  const statusLine = document.getElementById("chat-status");
  const typingLine = document.getElementById("chat-typing");
  const notice = document.getElementById("chat-notice");
  const form = document.getElementById("chat-composer");
  const input = document.getElementById("chat-input");
  const handoffButton = document.getElementById("chat-handoff");
  const restartButton = document.getElementById("chat-restart");
  const menu = document.getElementById("chat-menu");
  const leaveForm = document.getElementById("chat-leave");
  const STORE = C.embed ? "lumen.chat.v1:" + C.embed : "lumen.chat.v1";
  const openedAt = Date.now();

  let state = loadState();
  let socket = null;
  let retry = 0;
  let lastSeq = 0;          // highest seq with every seq before it rendered
  const rendered = new Map(); // seq -> element
  const pending = new Map();  // client_id -> {body, element}
  let typingSent = false;
  let typingTimer = null;
  let agentRead = 0;
  let page = null;          // the shop's page, from the widget
  let identity = null;      // the signed-in shop customer, from the widget
  let invitation = null;    // an accepted invitation, said first in the chat
  let started = false;

  function loadState() {
    try { return JSON.parse(localStorage.getItem(STORE)) || {}; } catch (e) { return {}; }
  }
  function saveState() {
    try { localStorage.setItem(STORE, JSON.stringify(state)); } catch (e) { /* private mode */ }
  }
  function format(template, values) {
    return template.replace(/%\((\w+)\)s/g, (_, key) => String(values[key] ?? ""));
  }
  function showNotice(text) {
    notice.textContent = text;
    notice.hidden = !text;
  }
  function newClientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  async function openSession() {
    const response = await fetch("/api/v1/chat/sessions/", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({
        channel: "web", language: language, token: state.token || undefined,
        page: page || {url: document.referrer ? document.referrer.slice(0, 2000) : "", title: document.title},
        identity: identity || undefined, invitation: invitation || undefined,
      }),
    });
    if (response.status === 400 || response.status === 403) {
      // A wrong identity hash, or what the page passed was refused: go on as a visitor.
      identity = null;
      invitation = null;
    }
    if (!response.ok) throw new Error("session " + response.status);
    invitation = null;
    const session = await response.json();
    if (session.conversation !== state.conversation) {
      rendered.clear();
      list.replaceChildren();
      lastSeq = 0;
    }
    state.token = session.token;
    state.conversation = session.conversation;
    saveState();
    setStatus({status: session.status});
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws/chat/?token=" + encodeURIComponent(state.token));
    socket.onopen = () => {
      retry = 0;
      showNotice("");
      root.classList.add("online");
      send({type: "resume", after_seq: lastSeq});
      for (const [clientId, item] of pending) {
        send({type: "message.send", client_id: clientId, body: item.body, attachments: item.attachments || []});
      }
    };
    socket.onmessage = (event) => receive(JSON.parse(event.data));
    socket.onclose = (event) => {
      root.classList.remove("online");
      if (event.code === 4401) {
        state.token = null;
        saveState();
      }
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    showNotice(T.reconnecting);
    const delay = Math.min(30000, 500 * 2 ** retry) * (0.75 + Math.random() * 0.5);
    retry += 1;
    setTimeout(start, delay);
  }

  async function start() {
    try {
      await openSession(); // resumes the stored token's conversation, or starts one
      connect();
    } catch (error) {
      scheduleReconnect();
    }
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  function receive(frame) {
    switch (frame.type) {
      case "message": return addMessage(frame.message);
      case "status": return setStatus(frame);
      case "typing": typingLine.textContent = frame.sender === "agent" ? T.agent_typing : T.bot_typing;
        typingLine.hidden = !frame.on; return;
      case "read": agentRead = Math.max(agentRead, frame.up_to_seq); return markRead();
      case "error": return onError(frame);
      case "survey": return showSurvey(frame);
      case "survey.answered": return surveyDone(frame.survey, frame.points);
    }
  }

  // A satisfaction survey (chat protocol `survey`): 1–5 and an optional comment.
  function showSurvey(frame) {
    if (list.querySelector('[data-survey="' + CSS.escape(frame.survey) + '"]')) return;
    const item = document.createElement("li");
    item.className = "survey";
    item.dataset.survey = frame.survey;
    const form = document.createElement("form");
    const title = document.createElement("p");
    title.className = "survey-title";
    title.textContent = T.survey_title;
    const scale = document.createElement("div");
    scale.className = "survey-scale";
    scale.setAttribute("role", "radiogroup");
    scale.setAttribute("aria-label", T.survey_title);
    let score = 0;
    for (let value = 1; value <= (frame.scale || 5); value += 1) {
      const star = document.createElement("button");
      star.type = "button";
      star.className = "survey-star";
      star.textContent = "★";
      star.dataset.score = value;
      star.setAttribute("role", "radio");
      star.setAttribute("aria-checked", "false");
      star.setAttribute("aria-label", format(T.survey_score, {score: value}));
      star.addEventListener("click", () => {
        score = value;
        for (const other of scale.children) {
          const on = Number(other.dataset.score) <= value;
          other.classList.toggle("on", on);
          other.setAttribute("aria-checked", String(Number(other.dataset.score) === value));
        }
        submit.disabled = false;
      });
      scale.append(star);
    }
    const comment = document.createElement("textarea");
    comment.className = "survey-comment";
    comment.maxLength = 1000;
    comment.rows = 2;
    comment.placeholder = T.survey_comment;
    comment.setAttribute("aria-label", T.survey_comment);
    const submit = document.createElement("button");
    submit.type = "submit";
    submit.textContent = T.survey_send;
    submit.disabled = true;
    form.append(title, scale, comment, submit);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!score) return;
      if (send({type: "survey.answer", survey: frame.survey, score: score, comment: comment.value.trim()})) {
        submit.disabled = true;
      }
    });
    item.append(form);
    list.append(item);
    list.scrollTop = list.scrollHeight;
  }

  function surveyDone(survey, points) {
    const item = survey && list.querySelector('[data-survey="' + CSS.escape(survey) + '"]');
    if (!item) return;
    const done = document.createElement("p");
    done.className = "survey-done";
    done.textContent = points ? format(T.survey_points, {points: points}) : T.survey_thanks;
    item.replaceChildren(done);
  }

  function onError(frame) {
    if (frame.client_id && pending.has(frame.client_id) && frame.code !== "rate_limited") {
      pending.get(frame.client_id).element.classList.add("failed");
      pending.delete(frame.client_id);
    }
    if (frame.code === "already_answered") {
      for (const item of list.querySelectorAll(".survey form")) item.closest(".survey").remove();
      return;
    }
    showNotice(T[frame.code] || T.error);
    if (frame.code === "closed") setStatus({status: "closed"});
  }

  function addMessage(message) {
    if (message.conversation !== state.conversation) return;
    const mine = message.client_id && pending.get(message.client_id);
    if (mine) {
      pending.delete(message.client_id);
      mine.element.remove();
    }
    if (!rendered.has(message.seq)) {
      const item = renderMessage(message);
      rendered.set(message.seq, item);
      let next = null;
      for (const [seq, element] of rendered) if (seq > message.seq && (!next || seq < next.seq)) next = {seq, element};
      list.insertBefore(item, next ? next.element : firstPending());
    }
    while (rendered.has(lastSeq + 1)) lastSeq += 1;
    if (message.seq > lastSeq + 1) send({type: "resume", after_seq: lastSeq});
    if (message.sender !== "customer") typingLine.hidden = true;
    list.scrollTop = list.scrollHeight;
    if (document.visibilityState === "visible") send({type: "read", up_to_seq: lastSeq});
  }

  function firstPending() {
    const first = pending.values().next();
    return first.done ? null : first.value.element;
  }

  function renderMessage(message) {
    const item = document.createElement("li");
    item.className = "message from-" + message.sender;
    item.dataset.seq = message.seq;
    if (message.sender !== "customer" && message.sender !== "system") {
      const who = document.createElement("span");
      who.className = "sender";
      who.textContent = message.sender_name;
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
    if (meta.event === "recommendation") item.append(recommendation(meta));
    if (meta.quick_replies && meta.quick_replies.length) item.append(quickReplies(meta.quick_replies));
    if (meta.rating && !("helpful" in meta)) item.append(ratingButtons(message.seq));
    const time = document.createElement("time");
    time.dateTime = message.created_at;
    time.textContent = new Date(message.created_at).toLocaleTimeString(language === "en" ? "en" : "zh-CN", {hour: "2-digit", minute: "2-digit"});
    item.append(time);
    return item;
  }

  // A recommendation's offers: links through this helpdesk (counted), to the shop's pages.
  function recommendation(meta) {
    const box = document.createElement("div");
    box.className = "recommendation";
    for (const offer of meta.offers || []) {
      if (typeof offer.url !== "string" || !offer.url.startsWith("/r/")) continue;
      const link = document.createElement("a");
      link.href = offer.url;
      link.target = "_blank";
      link.rel = "noopener";
      link.textContent = offer.name;
      box.append(link);
    }
    if (meta.coupon && meta.coupon.code) {
      const code = document.createElement("p");
      code.className = "coupon-code";
      code.textContent = format(T.coupon_code, {code: meta.coupon.code});
      box.append(code);
    }
    return box;
  }

  function quickReplies(replies) {
    const box = document.createElement("div");
    box.className = "quick-replies";
    for (const text of replies) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "secondary";
      button.textContent = text;
      button.addEventListener("click", () => { input.value = text; form.requestSubmit(); });
      box.append(button);
    }
    return box;
  }

  function ratingButtons(seq) {
    const box = document.createElement("div");
    box.className = "quick-replies rating";
    for (const [label, helpful] of [[T.helpful, true], [T.not_helpful, false]]) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "secondary";
      button.textContent = label;
      button.addEventListener("click", () => {
        if (send({type: "rate", seq: seq, helpful: helpful})) box.replaceChildren(T.thanks_rating);
      });
      box.append(button);
    }
    return box;
  }

  async function sendFile(file) {
    showNotice(T.uploading);
    const form = new FormData();
    form.append("file", file, file.name || "voice.webm");
    try {
      const response = await fetch("/api/v1/chat/attachments/", {
        method: "POST", headers: {"Authorization": "Bearer " + state.token}, body: form,
      });
      const data = await response.json();
      if (!response.ok) { showNotice(format(T.upload_failed, {reason: data.detail || response.status})); return; }
      showNotice("");
      const clientId = newClientId();
      const element = renderMessage({sender: "customer", body: "", attachments: [], created_at: new Date().toISOString(), seq: 0});
      element.classList.add("pending");
      list.append(element);
      pending.set(clientId, {body: "", attachments: [data.id], element});
      send({type: "message.send", client_id: clientId, body: "", attachments: [data.id]});
    } catch (error) {
      showNotice(format(T.upload_failed, {reason: error.message}));
    }
  }

  const fileInput = document.getElementById("chat-file");
  fileInput.addEventListener("change", () => {
    if (fileInput.files[0]) sendFile(fileInput.files[0]);
    fileInput.value = "";
  });

  const recordButton = document.getElementById("chat-record");
  let recorder = null;
  if (!(navigator.mediaDevices && window.MediaRecorder)) recordButton.hidden = true;
  recordButton.addEventListener("click", async () => {
    if (recorder && recorder.state === "recording") { recorder.stop(); return; }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({audio: true});
      const chunks = [];
      recorder = new MediaRecorder(stream);
      recorder.ondataavailable = (event) => chunks.push(event.data);
      recorder.onstop = () => {
        stream.getTracks().forEach((track) => track.stop());
        recordButton.setAttribute("aria-pressed", "false");
        const type = recorder.mimeType || "audio/webm";
        sendFile(new File(chunks, "voice." + (type.includes("ogg") ? "ogg" : type.includes("mp4") ? "m4a" : "webm"), {type}));
      };
      recorder.start();
      recordButton.setAttribute("aria-pressed", "true");
      showNotice(T.recording);
    } catch (error) {
      showNotice(format(T.upload_failed, {reason: error.message}));
    }
  });

  function markRead() {
    for (const [seq, element] of rendered) {
      element.classList.toggle("read", element.classList.contains("from-customer") && seq <= agentRead);
    }
  }

  function waitText(seconds) {
    if (seconds === null || seconds === undefined) return "";
    if (seconds < 60) return T.wait_soon;
    return format(T.wait_minutes, {minutes: Math.round(seconds / 60)});
  }

  function setStatus(frame) {
    const status = frame.status;
    root.dataset.status = status;
    // The widget invites no one who is waiting for or talking with a person.
    if (C.embed) window.parent.postMessage({source: "lumen-chat", type: "status", status: status}, C.parent);
    const nobody = status === "queued" && frame.agents_online === false;
    leaveForm.hidden = !nobody;
    if (status !== "bot") menu.hidden = true;
    if (nobody) statusLine.textContent = T.nobody_online;
    else if (status === "queued") statusLine.textContent = [format(T.queued, {position: frame.queue_position || "…"}), waitText(frame.estimated_wait)].filter(Boolean).join(" ");
    else if (status === "assigned") statusLine.textContent = format(T.assigned, {agent: frame.agent ? frame.agent.name : ""});
    else statusLine.textContent = T[status] || "";
    const closed = status === "closed";
    form.hidden = closed;
    restartButton.hidden = !closed;
    handoffButton.hidden = status !== "bot";
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = input.value.trim();
    if (!body) return;
    if (body.length > 4000) { showNotice(T.too_long); return; }
    const clientId = newClientId();
    const element = renderMessage({sender: "customer", body: body, created_at: new Date().toISOString(), seq: 0});
    element.classList.add("pending");
    list.append(element);
    list.scrollTop = list.scrollHeight;
    pending.set(clientId, {body, element});
    send({type: "message.send", client_id: clientId, body: body});
    input.value = "";
    stopTyping();
  });

  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  input.addEventListener("input", () => {
    if (!typingSent && input.value) typingSent = send({type: "typing", on: true});
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, 3000);
  });
  function stopTyping() {
    clearTimeout(typingTimer);
    if (typingSent) send({type: "typing", on: false});
    typingSent = false;
  }
  // "Talk to a person": the customer picks the team (or not), when there is a choice.
  handoffButton.addEventListener("click", () => {
    if (menu.querySelectorAll("button[data-group]").length > 1) { menu.hidden = !menu.hidden; return; }
    send({type: "handoff"});
  });
  menu.addEventListener("click", (event) => {
    const choice = event.target.closest("button[data-group]");
    if (!choice) return;
    menu.hidden = true;
    send(choice.dataset.group ? {type: "handoff", skill_group: choice.dataset.group} : {type: "handoff"});
  });
  // Nobody online: leave a message instead of waiting.
  leaveForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = leaveForm.elements.body.value.trim();
    if (!body) return;
    send({type: "leave_message", client_id: newClientId(), body: body, contact: leaveForm.elements.contact.value.trim()});
    leaveForm.reset();
    leaveForm.hidden = true;
  });
  restartButton.addEventListener("click", async () => {
    if (socket) { socket.onclose = null; socket.close(); }
    await start();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && lastSeq) send({type: "read", up_to_seq: lastSeq});
  });

  // The widget's page (parent) and what it tells: only that origin, only that window.
  function textOf(value, limit) {
    return typeof value === "string" ? value.slice(0, limit) : "";
  }
  function fromWidget(event) {
    if (!C.embed || event.source !== window.parent || event.origin !== C.parent) return null;
    const data = event.data;
    return data && typeof data === "object" && data.source === "lumen-widget" ? data : null;
  }
  function identityOf(value) {
    if (!value || typeof value !== "object" || typeof value.external_id !== "string") return null;
    const clean = {};
    for (const key of ["external_id", "name", "email", "phone", "hash"]) {
      if (typeof value[key] === "string") clean[key] = value[key];
    }
    return clean;
  }
  function begin() {
    if (started) return;
    started = true;
    start();
  }
  window.addEventListener("message", (event) => {
    const data = fromWidget(event);
    if (!data) return;
    if (data.type === "init") {
      const shop = data.page && typeof data.page === "object" ? data.page : {};
      page = {url: textOf(shop.url, 2000), title: textOf(shop.title, 300), referrer: textOf(shop.referrer, 2000)};
      identity = identityOf(data.identity);
      invitation = textOf(data.invitation, 64) || null;
      begin();
    } else if (data.type === "identify" && started) {
      identity = identityOf(data.identity);
      restartButton.click();
    } else if (data.type === "invitation" && started) {
      invitation = textOf(data.invitation, 64) || null;
      openSession().catch(() => {});
    }
  });

  // Invitations on the chat page itself: asked once it has been open long enough (the
  // widget asks on the shop's pages), one per page view, not once the customer wrote.
  let invited = false;
  function visitorId() {
    try {
      let id = localStorage.getItem("lumen.chat.visitor");
      if (!id) {
        id = newClientId();
        localStorage.setItem("lumen.chat.visitor", id);
      }
      return id;
    } catch (error) { return ""; }
  }
  async function askInvitation(seconds) {
    if (invited || list.querySelector(".from-customer") || root.dataset.status !== "bot") return;
    try {
      const response = await fetch("/api/v1/chat/invitations/", {
        method: "POST", headers: {"Content-Type": "application/json"},
        body: JSON.stringify({
          page: {url: (document.referrer || location.href).slice(0, 2000), title: document.title},
          seconds: seconds, visitor: visitorId(), language: language, token: state.token || undefined,
        }),
      });
      if (!response.ok) return;
      const data = await response.json();
      if (data.invitation && !invited) showInvitation(data.invitation);
    } catch (error) { /* no invitation this time */ }
  }
  function answerInvitation(id, value) {
    return fetch("/api/v1/chat/invitations/" + encodeURIComponent(id) + "/", {
      method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({answer: value}),
    }).catch(() => null);
  }
  function showInvitation(offer) {
    invited = true;
    const item = document.createElement("li");
    item.className = "invitation";
    const text = document.createElement("p");
    text.textContent = offer.message;
    const accept = document.createElement("button");
    accept.type = "button";
    accept.textContent = T.invite_accept;
    const decline = document.createElement("button");
    decline.type = "button";
    decline.className = "secondary";
    decline.textContent = T.invite_decline;
    const actions = document.createElement("div");
    actions.className = "quick-replies";
    actions.append(accept, decline);
    item.append(text, actions);
    list.append(item);
    list.scrollTop = list.scrollHeight;
    accept.addEventListener("click", async () => {
      item.remove();
      await answerInvitation(offer.id, "accepted");
      invitation = offer.id;
      await openSession().catch(() => {});
      input.focus();
    });
    decline.addEventListener("click", () => { item.remove(); answerInvitation(offer.id, "declined"); });
  }
  if (!C.embed) {
    for (const seconds of (C.invite_after || []).slice(0, 5)) {
      setTimeout(() => askInvitation(seconds), Math.max(0, seconds * 1000 - (Date.now() - openedAt)));
    }
  }

  if (C.embed) {
    window.parent.postMessage({source: "lumen-chat", type: "ready"}, C.parent);
    setTimeout(begin, 3000); // a parent that never answers: open as a plain visitor
  } else {
    begin();
  }
})();
