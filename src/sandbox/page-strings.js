// The sandbox page's own strings. A chat whose user was created as Español shows its part of the
// page (the conversation, its sidebar entry) in Spanish; the rest of the page stays in English.

export const PAGE_STRINGS = {
  en: {
    you: "You: ",
    noMessages: "no messages yet",
    typing: "typing…",
    botTyping: "bot is typing…",
    waitingStatus: "waiting for your answer",
    waitingBanner: "The bot is waiting for your answer",
    waitingDot: "the bot is waiting for this user's answer",
    unread: "unread",
    privateChat: "private chat with the bot · English",
    message: "Message",
    answer: "Your answer…",
    send: "Send",
    sendCancel: "Send /cancel",
    notSent: "Not sent: ",
    tapFailed: "The tap did not reach the bot: ",
    remove: (name) => `Remove ${name}`,
    removeTitle: (name) => `Remove ${name}?`,
    removeText: "Their chat and its history are deleted from the sandbox. The bot's messages to them fail from now on, as for a deleted Telegram account.",
    removeConfirm: "Remove",
    cancel: "Cancel",
  },
  es: {
    you: "Tú: ",
    noMessages: "sin mensajes todavía",
    typing: "escribiendo…",
    botTyping: "el bot está escribiendo…",
    waitingStatus: "esperando tu respuesta",
    waitingBanner: "El bot espera tu respuesta",
    waitingDot: "el bot espera la respuesta de este usuario",
    unread: "sin leer",
    privateChat: "chat privado con el bot · Español",
    message: "Mensaje",
    answer: "Tu respuesta…",
    send: "Enviar",
    sendCancel: "Enviar /cancel",
    notSent: "No enviado: ",
    tapFailed: "El toque no llegó al bot: ",
    remove: (name) => `Eliminar a ${name}`,
    removeTitle: (name) => `¿Eliminar a ${name}?`,
    removeText: "Su chat y su historial se borran del sandbox. Desde ahora los mensajes del bot para este usuario fallan, como con una cuenta de Telegram eliminada.",
    removeConfirm: "Eliminar",
    cancel: "Cancelar",
  },
};

/** The file name of an agent module's path (`/srv/bot/index.ts` -> `index.ts`). */
const moduleName = (agent) => agent.split(/[\\/]/).filter(Boolean).pop() ?? agent;

/** An empty chat's hint: what the running agent does (naming `model`, LLM_MODEL, with AGENT=llm), in the chat's language. */
export function agentHint(agent, language, model) {
  const es = language === "es";
  switch (agent) {
    case "coach":
      return es
        ? "Saluda para empezar. El entrenador, el agente por defecto, te pregunta tu objetivo, los días por semana y tu nivel (toca un botón o escríbelo) y te envía un plan semanal. /start lo explica, /cancel lo detiene."
        : "Say hi to start. The coach, the default agent, asks your goal, days per week and level (tap a button or type it), then sends a weekly plan. /start explains it, /cancel stops it.";
    case "echo":
      return es ? "Escribe lo que quieras: el agente echo repite cada mensaje." : "Write anything: the echo agent repeats each message.";
    case "llm":
      return es
        ? `Saluda para empezar: responde el agente llm con el modelo ${model ?? "configurado (LLM_MODEL)"}; puede hacerte preguntas, a veces con botones. /cancel lo detiene.`
        : `Say hi to start: the llm agent answers with the model ${model ?? "configured (LLM_MODEL)"} and may ask you questions, sometimes with buttons. /cancel stops it.`;
    default:
      return es
        ? `Saluda para empezar: responde tu agente ${moduleName(agent)}. /cancel detiene una conversación que espera.`
        : `Say hi to start: your agent ${moduleName(agent)} answers here. /cancel stops a run that waits.`;
  }
}
