import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseBytes } from "../protocol/byte-size.js";
import { DataRoots } from "../protocol/data-roots.js";

/**
 * Checks shared by the `weft` subcommands' argument parsing. Each returns the parsed value, or
 * `null` after printing, prefixed with the command's name, what is wrong: the command then exits 2.
 */

/** A whole number >= 1. */
export function parseCount(command: string, flag: string, text: string): number | null {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    console.error(`weft ${command}: ${flag} must be a whole number >= 1, got "${text}"`);
    return null;
  }
  return value;
}

/** A TCP port: a whole number from 0 (any free port) to 65535. */
export function parsePort(command: string, flag: string, text: string): number | null {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    console.error(`weft ${command}: ${flag} must be a port from 0 to 65535, got "${text}"`);
    return null;
  }
  return value;
}

/** A number of seconds: finite and >= 0, fractions allowed. */
export function parseSeconds(command: string, flag: string, text: string): number | null {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value < 0) {
    console.error(`weft ${command}: ${flag} must be a number of seconds >= 0, got "${text}"`);
    return null;
  }
  return value;
}

/** A `redis://` or `rediss://` URL with a host. */
export function parseRedisUrl(command: string, text: string): string | null {
  try {
    const url = new URL(text);
    if ((url.protocol === "redis:" || url.protocol === "rediss:") && url.hostname !== "") return text;
  } catch {
    // Reported below.
  }
  console.error(`weft ${command}: --redis must be a redis:// or rediss:// URL, got "${text}"`);
  return null;
}

/** The URL with its password hidden: logs are read by more people than the deployment's secrets are. */
export function redactPassword(text: string): string {
  const url = new URL(text);
  if (url.password !== "") url.password = "***";
  return url.href;
}

/** Environment variable holding the workers' data-server token, read when `--token` is not given. */
export const DATA_TOKEN_ENV = "WEFT_DATA_TOKEN";

/** The data-server token from the environment, if set and not empty. */
export function dataTokenFromEnv(): string | undefined {
  const token = process.env[DATA_TOKEN_ENV];
  return token === undefined || token === "" ? undefined : token;
}

/**
 * The URLs workers import for `--import module ...`: a `file:` URL as given, a path resolved against
 * the current directory, which must exist. Workers get URLs, not paths, so their own working
 * directory never matters.
 */
export function parseImports(command: string, modules: readonly string[]): string[] | null {
  const urls: string[] = [];
  for (const module of modules) {
    if (module.startsWith("file:")) {
      urls.push(module);
      continue;
    }
    const path = resolve(module);
    if (!existsSync(path)) {
      console.error(`weft ${command}: --import ${module}: no such file (looked for ${path})`);
      return null;
    }
    urls.push(pathToFileURL(path).href);
  }
  return urls;
}

/** `--memory-limit`: a size such as 512MB or 2GB, in bytes; undefined when not given. */
export function parseMemoryLimit(command: string, text: string | undefined): number | undefined | null {
  if (text === undefined) return undefined;
  const bytes = parseBytes(text);
  if (bytes === null) console.error(`weft ${command}: --memory-limit must be a size such as 512MB or 2GB, got "${text}"`);
  return bytes;
}

/** `--data-root DIR ...`: each directory's real path; each must exist. */
export function parseDataRoots(command: string, dirs: readonly string[]): string[] | null {
  try {
    return [...DataRoots.of(dirs).dirs];
  } catch (error) {
    console.error(`weft ${command}: --data-root: ${(error as Error).message}`);
    return null;
  }
}
