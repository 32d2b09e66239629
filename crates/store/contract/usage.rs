// Contract tests of UsageStore.
