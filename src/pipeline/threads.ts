// How many libvips threads the next image gets. One per image keeps every core busy once there are as many
// images as cores (KINU_CONCURRENCY is 2 × cores); below that, cores would idle while a lone image waits. Measured
// in process on 2 cores, one image at a time, 2 threads against 1: AVIF 1200 px 395 vs 682 ms (+5 % CPU), WebP
// 1200 px 205 vs 225 ms, JPEG 400 px 27.5 vs 30 ms (+3 % CPU).
import { availableParallelism } from 'node:os';

/** libvips' threads scale poorly past a few for one web-sized image; this bounds what a lone image takes. */
export const MAX_THREADS_PER_IMAGE = 4;

/** The cores left to each of `running` pipelines (this one included), from 1 to MAX_THREADS_PER_IMAGE. */
export function threadsPerImage(running: number, cores = availableParallelism()): number {
  return Math.min(MAX_THREADS_PER_IMAGE, Math.max(1, Math.floor(cores / Math.max(1, running))));
}
