/** Renders docs/config.md from the configuration schema. */
export function renderConfigDoc(): string;
