// Contract tests of StatusStore.
