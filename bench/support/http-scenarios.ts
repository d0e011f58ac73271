export async function runHttpScenarios(_: unknown): Promise<void> {
  // Filled in once the HTTP server lands.
}
