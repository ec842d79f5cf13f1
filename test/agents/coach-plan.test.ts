import { expect, test } from "bun:test";
import { parseDays, parseLevel } from "../../src/agents/coach.ts";
import { goalKind, renderPlan, type Level } from "../../src/agents/coach-plan.ts";

test("days: the first number in the answer, when it is a whole number from 1 to 7", () => {
  const accepted: [string, number][] = [["3", 3], ["3 days", 3], ["3 días", 3], [" 7 ", 7], ["1", 1], ["about 4 days, maybe 5", 4], ["3.0", 3]];
  for (const [answer, days] of accepted) expect(parseDays(answer)).toBe(days);
  // A sign or a leading point belongs to the number (".5" is not 5, "−2" with the minus sign is not 2).
  for (const answer of ["3.5", "3,5", "0", "-2", "\u22122", ".5", ".5 days", "8", "10 days", "three", "tres", "", "   "]) expect(parseDays(answer)).toBeUndefined();
});

test("level: English or Spanish, any case, spaces and punctuation around it ignored", () => {
  const accepted: [string, Level][] = [
    ["beginner", "beginner"],
    [" Intermediate ", "intermediate"],
    ["ADVANCED", "advanced"],
    ["principiante", "beginner"],
    ["Intermedio.", "intermediate"],
    ["¡avanzado!", "advanced"],
  ];
  for (const [answer, level] of accepted) expect(parseLevel(answer)).toBe(level);
  for (const answer of ["expert", "begin", "I am a beginner", "", "intermediate advanced"]) expect(parseLevel(answer)).toBeUndefined();
});

test("the plan fits the goal: running, strength, weight loss, anything else", () => {
  expect(goalKind("run a marathon")).toBe("endurance");
  expect(goalKind("correr 10 km")).toBe("endurance");
  expect(goalKind("get stronger")).toBe("strength");
  expect(goalKind("ganar fuerza")).toBe("strength");
  expect(goalKind("lose weight")).toBe("weightLoss");
  expect(goalKind("perder peso")).toBe("weightLoss");
  expect(goalKind("feel good")).toBe("general");
  // A distance is endurance; a weight is not (the distance pattern matched "5 kg" and "105 kg").
  expect(["run a 5k", "10 km in May", "my first 5 k"].map(goalKind)).toEqual(["endurance", "endurance", "endurance"]);
  expect(["lose 5 kg", "perder 5 kilos", "deadlift 105 kg", "bench 100kg"].map(goalKind)).toEqual(["weightLoss", "weightLoss", "strength", "strength"]);
  expect(renderPlan("run a marathon", 2, "advanced", "en")).toMatch(/^Day 2: Long run: 90 min/m);
  expect(renderPlan("get stronger", 1, "beginner", "en")).toMatch(/^Day 1: Full body: /m);
});

test("every plan: the goal as written, exactly N lines starting with Day (Día), numbered, nothing else starting so", () => {
  const goals = ["run a 10k", "get stronger", "lose weight", "feel good", "  Día libre? no: Day off ✓  "];
  for (const goal of goals)
    for (const level of ["beginner", "intermediate", "advanced"] as const)
      for (const language of ["en", "es"] as const)
        for (let days = 1; days <= 7; days++) {
          const plan = renderPlan(goal, days, level, language);
          expect(plan).toContain(goal);
          const label = language === "es" ? "Día " : "Day ";
          const lines = plan.split("\n").filter((line) => line.startsWith("Day ") || line.startsWith("Día "));
          expect(lines.map((line) => line.slice(0, label.length + 2))).toEqual(Array.from({ length: days }, (_, i) => `${label}${i + 1}:`));
          expect(plan.length).toBeLessThan(4096);
        }
});
