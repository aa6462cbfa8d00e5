// Every namespace and temp dir a lab creates is named `nst-<lab id>-...`, and the lab id is
// `<pid of the owning process, base 36>_<two random characters>`. A crashed run's leftovers
// are therefore recognisable, and a live run's (or another tool's `nst-` names) left alone.

import { randomBytes } from 'node:crypto';

export const LAB_PREFIX = 'nst-';

export function newLabId(pid = process.pid): string {
  const r = randomBytes(2);
  const rand = ((r[0]! * 256 + r[1]!) % (36 * 36)).toString(36).padStart(2, '0');
  return `${pid.toString(36)}_${rand}`;
}

/** The owning pid of a name made by a lab, or undefined for names not shaped like ours. */
export function ownerPid(name: string, prefix = LAB_PREFIX): number | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const id = /^([0-9a-z]{1,13})_[0-9a-z]{2}-/.exec(name.slice(prefix.length))?.[1];
  if (id === undefined) return undefined;
  const pid = parseInt(id, 36);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

export function checkNodeName(name: string): string {
  if (!/^[a-z][a-z0-9]{0,19}$/.test(name)) {
    throw new Error(
      `bad lab node name "${name}": 1-20 lowercase letters/digits, starting with a letter`,
    );
  }
  return name;
}
