// Placeholder replaced by the services harness (issue 4): starts nothing yet.
export default async function globalSetup(): Promise<void> {}
