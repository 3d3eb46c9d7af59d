// What the demo backend's API answers: shared by the backend and the page.

/** A flow the sign-in form offers. */
export interface DemoFlow {
  readonly name: string;
  readonly label: string;
  /** Its sessions are bound to the browser's DPoP key: the page signs in with the key's thumbprint (`?dpop=on`). */
  readonly dpop?: boolean;
}

/** `GET /demo/config`: how the page finds Tessera. */
export interface DemoConfig {
  /** The port browsers reach Tessera on, under the page's own host name. */
  readonly tessera_port: number;
  readonly flows: readonly DemoFlow[];
}

/** One of the signed-in user's sessions, in `GET /demo/my-sessions`. */
export interface DemoSession {
  readonly id: string;
  readonly flow: string;
  readonly device: string;
  readonly created_at: string;
  readonly last_refreshed_at: string | null;
  /** The session of the access token that asked. */
  readonly current: boolean;
}
