// Rules for accounts, shared by the CLI, the server and the forms in the browser.
export const MIN_PASSWORD_LENGTH = 10;
export const ROLES = ['admin', 'viewer'] as const;
