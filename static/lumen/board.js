// The supervisors' live board: re-rendered by the server whenever the desk socket says
// something moved; waiting times tick in the page.
(function () {
  "use strict";
  const board = document.getElementById("board");
  const live = document.getElementById("board-live");
  const connection = document.getElementById("desk-connection");
  const T = JSON.parse(document.getElementById("board-strings").textContent);
  let retry = 0;
  let timer = null;
  let heartbeat = null;

  function refresh() {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const response = await fetch(board.dataset.liveUrl, {headers: {"X-Requested-With": "fetch"}});
      if (response.ok) { live.innerHTML = await response.text(); tick(); } // server-rendered, escaped
    }, 300);
  }

  function tick() {
    const now = Date.now();
    for (const wait of live.querySelectorAll(".wait[data-since]")) {
      const seconds = Math.max(0, Math.floor((now - Date.parse(wait.dataset.since)) / 1000));
      wait.textContent = seconds < 120 ? T.seconds.replace("%(n)s", seconds) : T.minutes.replace("%(n)s", Math.floor(seconds / 60));
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + "/ws/desk/");
    socket.onopen = () => {
      retry = 0;
      connection.textContent = connection.dataset.onlineText;
      connection.classList.add("online");
      heartbeat = setInterval(() => socket.send(JSON.stringify({type: "ping"})), 25000);
      refresh();
    };
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (["queue", "agent_presence", "assigned", "released"].includes(frame.type)) refresh();
    };
    socket.onclose = (event) => {
      clearInterval(heartbeat);
      connection.textContent = connection.dataset.offlineText;
      connection.classList.remove("online");
      if (event.code === 4401) { location.href = "/desk/login/?next=" + encodeURIComponent(location.pathname); return; }
      setTimeout(connect, Math.min(30000, 500 * 2 ** retry++));
    };
  }

  setInterval(tick, 1000);
  // Today's numbers (analytics) move with every message too, which the desk socket does
  // not announce: the board re-renders at least every 30 s.
  setInterval(refresh, 30000);
  tick();
  connect();
})();
