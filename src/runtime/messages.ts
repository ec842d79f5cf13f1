/** What the runtime itself tells users, in English or Spanish by language_code. */
const TEXTS = {
  cancelled: { en: "Cancelled.", es: "Cancelado." },
  nothingToCancel: { en: "There is nothing to cancel.", es: "No hay nada que cancelar." },
  failed: {
    en: "Sorry, something went wrong on my side. Please try again.",
    es: "Lo siento, algo salió mal por mi parte. Inténtalo de nuevo.",
  },
  timedOut: {
    en: "I waited for your answer but it did not come in time, so I stopped. Send me a message to start again.",
    es: "Esperé tu respuesta pero no llegó a tiempo, así que me detuve. Envíame un mensaje para empezar de nuevo.",
  },
  updated: {
    en: "I was updated while we were talking, so I cannot go on with this conversation. Send me your next message and we start afresh.",
    es: "Me actualizaron mientras hablábamos, así que no puedo seguir esta conversación. Envíame tu próximo mensaje y empezamos de nuevo.",
  },
  questionClosed: { en: "This question is no longer open.", es: "Esta pregunta ya no está abierta." },
  notYourQuestion: { en: "This question is for someone else.", es: "Esta pregunta es para otra persona." },
} as const;

export type RuntimeText = keyof typeof TEXTS;

export function isSpanish(languageCode: string | undefined): boolean {
  return languageCode?.toLowerCase().startsWith("es") ?? false;
}

export function runtimeText(key: RuntimeText, languageCode: string | undefined): string {
  return TEXTS[key][isSpanish(languageCode) ? "es" : "en"];
}
