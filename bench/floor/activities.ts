/** The floor's activity: does nothing, so what it costs is Temporal's scheduling alone. */
export const floorActivities = {
  async noop(): Promise<void> {},
};
