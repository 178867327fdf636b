// The entry pages: join a room (join.html) or open one (instructor.html). Either way the
// token the server gives is kept in this browser, and the playground opens in the room.

import { api } from "./api.js";
import { remember } from "./membership.js";

const $ = (id) => document.getElementById(id);

const joinForm = $("join-form");
if (joinForm) {
  const preset = new URLSearchParams(location.search).get("code");
  if (preset) $("join-code").value = preset.toUpperCase();
  joinForm.onsubmit = async (event) => {
    event.preventDefault();
    const code = $("join-code").value.trim().toUpperCase();
    try {
      const joined = await api.joinRoom(code, $("join-name").value);
      remember(code, { role: "participant", token: joined.token, name: joined.name, participant: joined.participant });
      location.href = `/?room=${encodeURIComponent(code)}`;
    } catch (err) {
      $("join-error").textContent = err.status === 404 ? `There is no room ${code}: check the code.` : err.message;
    }
  };
}

const openForm = $("open-form");
if (openForm) {
  openForm.onsubmit = async (event) => {
    event.preventDefault();
    try {
      const opened = await api.openRoom($("room-title-input").value, $("room-password").value);
      remember(opened.code, { role: "instructor", token: opened.instructor_token });
      location.href = `/?room=${encodeURIComponent(opened.code)}`;
    } catch (err) {
      $("open-error").textContent = err.message;
    }
  };
}
document.body.dataset.ready = "true";
