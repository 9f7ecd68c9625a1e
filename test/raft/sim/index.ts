export { Simulation, runSeed, SafetyViolation, type SimOptions, type SimResult } from './simulator.js';
export { Prng } from './prng.js';
