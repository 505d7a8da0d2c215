// Pieces the chat and the desk share.
window.Lumen = {
  // A message's file: images and media inline (served with a sandbox CSP), anything else a link.
  renderAttachment(file) {
    const kind = file.content_type.split("/")[0];
    const wrapper = document.createElement("div");
    let element;
    if (kind === "image") {
      element = document.createElement("img");
      element.alt = file.name;
      element.loading = "lazy";
      element.src = file.url;
    } else if (kind === "audio" || kind === "video") {
      element = document.createElement(kind);
      element.controls = true;
      element.preload = "metadata";
      element.src = file.url;
    } else {
      element = document.createElement("a");
      element.textContent = file.name + " (" + Math.max(1, Math.round(file.size / 1024)) + " KB)";
      element.rel = "noopener";
      element.href = file.url;
    }
    element.className = "attachment";
    wrapper.append(element);
    if (file.transcript) {
      const transcript = document.createElement("p");
      transcript.className = "transcript";
      transcript.textContent = "“" + file.transcript + "”";
      wrapper.append(transcript);
    }
    return wrapper;
  },
};
