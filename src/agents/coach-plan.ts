/** The coach's knowledge: which sessions fit a goal, and how hard they are at each level. */

export type Level = "beginner" | "intermediate" | "advanced";
export type Language = "en" | "es";
type GoalKind = "endurance" | "strength" | "weightLoss" | "general";

interface Session {
  focus: Record<Language, string>;
  /** Exercises per level. */
  work: Record<Level, Record<Language, string>>;
}

const s = (focusEn: string, focusEs: string, work: [string, string][]): Session => ({
  focus: { en: focusEn, es: focusEs },
  work: {
    beginner: { en: work[0]![0], es: work[0]![1] },
    intermediate: { en: work[1]![0], es: work[1]![1] },
    advanced: { en: work[2]![0], es: work[2]![1] },
  },
});

const SESSIONS: Record<GoalKind, Session[]> = {
  endurance: [
    s("Easy run", "Carrera suave", [
      ["20 min easy jog with walk breaks, 5 min stretching", "20 min de trote suave con pausas caminando, 5 min de estiramientos"],
      ["35 min easy run at conversation pace, 4 strides of 20 s", "35 min de carrera suave a ritmo de conversación, 4 progresivos de 20 s"],
      ["50 min easy run, 6 strides of 20 s, 10 min mobility", "50 min de carrera suave, 6 progresivos de 20 s, 10 min de movilidad"],
    ]),
    s("Intervals", "Series", [
      ["6 x 1 min brisk run / 2 min walk", "6 x 1 min de carrera viva / 2 min caminando"],
      ["6 x 3 min at 10k pace / 2 min jog", "6 x 3 min a ritmo de 10 km / 2 min trotando"],
      ["5 x 1 km at 5k pace / 2 min jog, warm-up and cool-down 10 min each", "5 x 1 km a ritmo de 5 km / 2 min trotando, calentamiento y vuelta a la calma de 10 min"],
    ]),
    s("Strength for runners", "Fuerza para corredores", [
      ["2 x 10 squats, 2 x 10 lunges, 2 x 20 s plank", "2 x 10 sentadillas, 2 x 10 zancadas, 2 x 20 s de plancha"],
      ["3 x 12 squats, 3 x 10 step-ups, 3 x 15 calf raises, 3 x 40 s plank", "3 x 12 sentadillas, 3 x 10 subidas al cajón, 3 x 15 elevaciones de talón, 3 x 40 s de plancha"],
      ["4 x 8 goblet squats, 3 x 8 single-leg deadlifts, 3 x 20 calf raises, 3 x 60 s plank", "4 x 8 sentadillas goblet, 3 x 8 pesos muertos a una pierna, 3 x 20 elevaciones de talón, 3 x 60 s de plancha"],
    ]),
    s("Long run", "Tirada larga", [
      ["30 min continuous easy jog", "30 min de trote suave continuo"],
      ["60 min easy run", "60 min de carrera suave"],
      ["90 min run, last 20 min at goal pace", "90 min de carrera, los últimos 20 min a ritmo objetivo"],
    ]),
  ],
  strength: [
    s("Lower body", "Tren inferior", [
      ["3 x 10 bodyweight squats, 3 x 10 glute bridges, 3 x 8 lunges", "3 x 10 sentadillas sin peso, 3 x 10 puentes de glúteo, 3 x 8 zancadas"],
      ["4 x 8 back squats, 3 x 10 Romanian deadlifts, 3 x 12 lunges", "4 x 8 sentadillas con barra, 3 x 10 pesos muertos rumanos, 3 x 12 zancadas"],
      ["5 x 5 back squats, 4 x 6 deadlifts, 3 x 10 Bulgarian split squats", "5 x 5 sentadillas con barra, 4 x 6 pesos muertos, 3 x 10 sentadillas búlgaras"],
    ]),
    s("Upper body push", "Empuje de tren superior", [
      ["3 x 8 incline push-ups, 3 x 10 dumbbell shoulder presses", "3 x 8 flexiones inclinadas, 3 x 10 press de hombro con mancuernas"],
      ["4 x 8 bench presses, 3 x 10 overhead presses, 3 x 12 dips", "4 x 8 press de banca, 3 x 10 press militar, 3 x 12 fondos"],
      ["5 x 5 bench presses, 4 x 6 overhead presses, 4 x 10 weighted dips", "5 x 5 press de banca, 4 x 6 press militar, 4 x 10 fondos con lastre"],
    ]),
    s("Upper body pull", "Tracción de tren superior", [
      ["3 x 10 band rows, 3 x 8 lat pulldowns, 3 x 20 s dead hang", "3 x 10 remos con banda, 3 x 8 jalones al pecho, 3 x 20 s colgado de la barra"],
      ["4 x 8 barbell rows, 3 x 6 pull-ups, 3 x 12 face pulls", "4 x 8 remos con barra, 3 x 6 dominadas, 3 x 12 face pulls"],
      ["5 x 5 barbell rows, 4 x 8 weighted pull-ups, 3 x 15 face pulls", "5 x 5 remos con barra, 4 x 8 dominadas con lastre, 3 x 15 face pulls"],
    ]),
    s("Core and conditioning", "Core y acondicionamiento", [
      ["3 x 20 s plank, 3 x 10 dead bugs, 10 min brisk walk", "3 x 20 s de plancha, 3 x 10 dead bugs, 10 min caminando rápido"],
      ["3 x 45 s plank, 3 x 12 hanging knee raises, 10 x 30 s kettlebell swings", "3 x 45 s de plancha, 3 x 12 elevaciones de rodillas colgado, 10 x 30 s de swings con kettlebell"],
      ["4 x 60 s plank, 4 x 10 toes-to-bar, 12 min EMOM of swings and burpees", "4 x 60 s de plancha, 4 x 10 pies a la barra, 12 min EMOM de swings y burpees"],
    ]),
    s("Full body", "Cuerpo completo", [
      ["3 x 10 goblet squats, 3 x 8 push-ups (knees allowed), 3 x 10 band rows, 3 x 20 s plank", "3 x 10 sentadillas goblet, 3 x 8 flexiones (con rodillas si hace falta), 3 x 10 remos con banda, 3 x 20 s de plancha"],
      ["4 x 8 squats, 4 x 8 bench presses, 4 x 8 barbell rows, 3 x 10 Romanian deadlifts", "4 x 8 sentadillas, 4 x 8 press de banca, 4 x 8 remos con barra, 3 x 10 pesos muertos rumanos"],
      ["5 x 5 squats, 5 x 5 bench presses, 4 x 6 deadlifts, 4 x 8 weighted pull-ups", "5 x 5 sentadillas, 5 x 5 press de banca, 4 x 6 pesos muertos, 4 x 8 dominadas con lastre"],
    ]),
  ],
  weightLoss: [
    s("Brisk cardio", "Cardio a buen ritmo", [
      ["30 min brisk walk", "30 min caminando a paso rápido"],
      ["40 min cycling or jogging at a steady pace", "40 min de bici o trote a ritmo constante"],
      ["50 min run or bike with 5 x 2 min harder efforts", "50 min de carrera o bici con 5 x 2 min más intensos"],
    ]),
    s("Full-body circuit", "Circuito de cuerpo completo", [
      ["2 rounds: 10 squats, 8 wall push-ups, 10 rows with a band, 20 s plank", "2 vueltas: 10 sentadillas, 8 flexiones en la pared, 10 remos con banda, 20 s de plancha"],
      ["4 rounds: 12 goblet squats, 10 push-ups, 12 rows, 30 s mountain climbers", "4 vueltas: 12 sentadillas goblet, 10 flexiones, 12 remos, 30 s de escaladores"],
      ["5 rounds: 10 thrusters, 15 push-ups, 12 renegade rows, 45 s burpees", "5 vueltas: 10 thrusters, 15 flexiones, 12 remos renegados, 45 s de burpees"],
    ]),
    s("Intervals", "Intervalos", [
      ["8 x 30 s fast walk or march / 60 s easy", "8 x 30 s caminando muy rápido / 60 s suave"],
      ["10 x 40 s hard / 20 s easy on a bike or rower", "10 x 40 s fuerte / 20 s suave en bici o remo"],
      ["12 x 45 s all-out / 15 s rest, then 15 min easy", "12 x 45 s a tope / 15 s de descanso, luego 15 min suave"],
    ]),
    s("Active recovery", "Recuperación activa", [
      ["20 min walk and 10 min gentle stretching", "20 min caminando y 10 min de estiramientos suaves"],
      ["30 min easy swim or walk, 10 min mobility", "30 min de natación o caminata suave, 10 min de movilidad"],
      ["40 min easy cardio, 15 min yoga", "40 min de cardio suave, 15 min de yoga"],
    ]),
  ],
  general: [
    s("Full body strength", "Fuerza de cuerpo completo", [
      ["2 x 10 squats, 2 x 8 push-ups (knees allowed), 2 x 10 band rows", "2 x 10 sentadillas, 2 x 8 flexiones (con rodillas si hace falta), 2 x 10 remos con banda"],
      ["3 x 10 goblet squats, 3 x 10 push-ups, 3 x 10 dumbbell rows", "3 x 10 sentadillas goblet, 3 x 10 flexiones, 3 x 10 remos con mancuerna"],
      ["4 x 6 squats, 4 x 6 bench presses, 4 x 8 pull-ups", "4 x 6 sentadillas, 4 x 6 press de banca, 4 x 8 dominadas"],
    ]),
    s("Cardio", "Cardio", [
      ["25 min brisk walk or easy bike", "25 min caminando rápido o bici suave"],
      ["35 min jog or bike at a steady pace", "35 min de trote o bici a ritmo constante"],
      ["45 min run with 4 x 3 min at a hard pace", "45 min de carrera con 4 x 3 min a ritmo fuerte"],
    ]),
    s("Mobility and core", "Movilidad y core", [
      ["10 min mobility flow, 3 x 20 s plank, 3 x 10 bird dogs", "10 min de movilidad, 3 x 20 s de plancha, 3 x 10 bird dogs"],
      ["15 min mobility flow, 3 x 40 s plank, 3 x 12 side-plank reaches", "15 min de movilidad, 3 x 40 s de plancha, 3 x 12 rotaciones en plancha lateral"],
      ["20 min yoga flow, 4 x 60 s plank, 3 x 10 hanging leg raises", "20 min de yoga, 4 x 60 s de plancha, 3 x 10 elevaciones de piernas colgado"],
    ]),
  ],
};

/**
 * Which session goes on which training day, by days per week (index 0 = 1 day). Few days get
 * the sessions that matter most for the goal (the long run, full-body strength); more days add
 * the rest, with hard days spread out.
 */
const WEEKS: Record<GoalKind, number[][]> = {
  // easy run 0, intervals 1, strength 2, long run 3
  endurance: [[3], [0, 3], [0, 1, 3], [0, 1, 2, 3], [0, 1, 2, 0, 3], [0, 1, 2, 0, 2, 3], [0, 1, 0, 2, 0, 2, 3]],
  // lower 0, push 1, pull 2, core 3, full body 4
  strength: [[4], [4, 4], [0, 1, 2], [0, 1, 2, 3], [0, 1, 2, 3, 4], [0, 1, 2, 0, 1, 2], [0, 1, 2, 3, 0, 1, 2]],
  // cardio 0, circuit 1, intervals 2, recovery 3
  weightLoss: [[1], [1, 0], [1, 0, 2], [1, 0, 2, 3], [1, 0, 2, 1, 0], [1, 0, 2, 1, 0, 3], [1, 0, 2, 3, 1, 0, 3]],
  // strength 0, cardio 1, mobility 2
  general: [[0], [0, 1], [0, 1, 0], [0, 1, 0, 2], [0, 1, 2, 0, 1], [0, 1, 2, 0, 1, 2], [0, 1, 2, 0, 1, 2, 1]],
};

const KEYWORDS: [GoalKind, RegExp][] = [
  // A distance ("5k", "10 km"), not a weight ("5 kg", "105 kg", "5 kilos").
  ["endurance", /run|marath|\b(?:5|10) ?km?\b|half|jog|endurance|cardio|swim|cycl|bike|triath|corr|marat|resisten|nada|bici/i],
  ["strength", /strength|strong|muscle|lift|bench|squat|deadlift|pull-?up|bulk|fuerza|fuerte|m[uú]scul|pesas|dominad/i],
  ["weightLoss", /weight|lose|fat|slim|lean|tone|adelgaz|perder|peso|grasa|kilos/i],
];

export function goalKind(goal: string): GoalKind {
  return KEYWORDS.find(([, pattern]) => pattern.test(goal))?.[0] ?? "general";
}

const LEVEL_NAMES: Record<Level, Record<Language, string>> = {
  beginner: { en: "beginner", es: "principiante" },
  intermediate: { en: "intermediate", es: "intermedio" },
  advanced: { en: "advanced", es: "avanzado" },
};

/**
 * The plan message: a heading with the goal exactly as written, then exactly `days` lines
 * starting with "Day N:" ("Día N:" in Spanish), each a focus and its exercises, then a tip.
 */
export function renderPlan(goal: string, days: number, level: Level, language: Language): string {
  const kind = goalKind(goal);
  const sessions = SESSIONS[kind];
  const week = WEEKS[kind][days - 1] ?? [];
  const lines = week.map((index, i) => {
    const session = sessions[index]!;
    const label = language === "es" ? "Día" : "Day";
    return `${label} ${i + 1}: ${session.focus[language]}: ${session.work[level][language]}`;
  });
  const levelName = LEVEL_NAMES[level][language];
  const heading =
    language === "es"
      ? `Tu plan de ${days} ${days === 1 ? "día" : "días"} por semana (${levelName}) para: ${goal}`
      : `Your ${days}-day-a-week plan (${levelName}) for: ${goal}`;
  const tip =
    language === "es"
      ? `${days === 7 ? "Haz suaves al menos dos de estos días" : "Descansa los demás días"}, calienta 5-10 minutos antes de cada sesión y sube la carga poco a poco cada semana.`
      : `${days === 7 ? "Keep at least two of these days easy" : "Rest on the other days"}, warm up for 5-10 minutes before each session, and add a little load each week.`;
  return [heading, "", ...lines, "", tip].join("\n");
}
