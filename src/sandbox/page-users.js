// The sandbox page's users: creating one (the server keeps them) and removing one, each in its dialog.
import { nameOf, stringsOf } from "./page-view.js";

const $ = (id) => document.getElementById(id);

/** Sends JSON; resolves with the answer's body, or { ok: false, error } when the server is unreachable. */
export async function post(path, body, method = "POST") {
  try {
    const response = await fetch(path, { method, headers: { "content-type": "application/json" }, ...(body ? { body: JSON.stringify(body) } : {}) });
    return await response.json();
  } catch (error) {
    return { ok: false, error: `the sandbox is not reachable (${error.message ?? error})` };
  }
}

function showDialogError(id, text) {
  $(id).textContent = text;
  $(id).hidden = false;
}

/**
 * Wires the new-user and remove-user dialogs. `page` tells whether an id is `taken`, gives the
 * `current()` chat, and hears when a user was `created(user)` or `removed(id)` on the server.
 */
export function setUpUserDialogs(page) {
  async function create(name, language) {
    let id;
    do id = 100_000_000 + Math.floor(Math.random() * 900_000_000);
    while (page.taken(id));
    const answer = await post("/sandbox/users", { id, first_name: name, language_code: language });
    if (!answer.ok) return showDialogError("user-error", answer.error);
    $("user-dialog").close();
    page.created(answer.user);
  }

  function openCreate() {
    $("user-form").reset();
    $("user-error").hidden = true;
    $("user-dialog").showModal();
    $("user-name").focus();
  }

  function openRemove() {
    const chat = page.current();
    if (!chat) return;
    const s = stringsOf(chat);
    $("remove-title").textContent = s.removeTitle(nameOf(chat));
    $("remove-text").textContent = s.removeText;
    $("remove-cancel").textContent = s.cancel;
    $("remove-confirm").textContent = s.removeConfirm;
    $("remove-error").hidden = true;
    $("remove-dialog").dataset.chatId = String(chat.id);
    $("remove-dialog").showModal();
  }

  async function remove(id) {
    const answer = await post(`/sandbox/users/${id}`, null, "DELETE");
    if (!answer.ok) return showDialogError("remove-error", answer.error);
    $("remove-dialog").close();
    page.removed(id);
  }

  $("new-user").addEventListener("click", openCreate);
  $("empty-new-user").addEventListener("click", openCreate);
  $("user-cancel").addEventListener("click", () => $("user-dialog").close());
  $("user-form").addEventListener("submit", (event) => {
    event.preventDefault(); // closed once the server has the user
    const form = new FormData(event.target);
    const name = String(form.get("name")).trim();
    if (name) void create(name, String(form.get("language")));
  });
  $("remove-user").addEventListener("click", openRemove);
  $("remove-cancel").addEventListener("click", () => $("remove-dialog").close());
  $("remove-form").addEventListener("submit", (event) => {
    event.preventDefault();
    void remove(Number($("remove-dialog").dataset.chatId));
  });
}
