// Protocol errors as values (RFC 4271 §6, RFC 7606). A decoder never throws for bad
// input: it returns a BgpError whose `action` says what the session must do.
//
// RFC 7606 §2 approaches, from most to least severe:
// - 'session-reset': send the NOTIFICATION (code, subcode, data) and close the session;
// - 'afi-safi-disable': RFC 7606 §2 AFI/SAFI disable (only if negotiated; else reset);
// - 'treat-as-withdraw': the UPDATE's NLRI (incl. MP_REACH) are handled as withdrawn;
// - 'attribute-discard': the malformed attribute is dropped and the UPDATE processed.

export type ErrorAction =
  'session-reset' | 'afi-safi-disable' | 'treat-as-withdraw' | 'attribute-discard';

export interface BgpError {
  readonly action: ErrorAction;
  /** NOTIFICATION error code / subcode (wire/constants ERR*), also for non-reset actions. */
  readonly code: number;
  readonly subcode: number;
  /** NOTIFICATION data octets (e.g. the offending attribute, or the bad length). */
  readonly data: Uint8Array;
  /** Human-readable reason, naming the field and value. */
  readonly reason: string;
  /** Attribute type code the error is about, if any. */
  readonly attribute?: number;
}

export function bgpError(
  action: ErrorAction,
  code: number,
  subcode: number,
  reason: string,
  data: Uint8Array = new Uint8Array(0),
  attribute?: number,
): BgpError {
  return attribute === undefined
    ? { action, code, subcode, data, reason }
    : { action, code, subcode, data, reason, attribute };
}

const severity: Record<ErrorAction, number> = {
  'attribute-discard': 0,
  'treat-as-withdraw': 1,
  'afi-safi-disable': 2,
  'session-reset': 3,
};

/** RFC 7606 §3(h): when several errors occur, the most severe approach applies. */
export function mostSevere(errors: readonly BgpError[]): BgpError | undefined {
  let worst: BgpError | undefined;
  for (const e of errors) if (!worst || severity[e.action] > severity[worst.action]) worst = e;
  return worst;
}
