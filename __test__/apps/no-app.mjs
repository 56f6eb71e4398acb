// A module that loads but exports no app and no default.
export const something = 42
