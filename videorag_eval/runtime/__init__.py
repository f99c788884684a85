"""Where and with what things run: devices, data-parallel ranks, weights, third-party packages and versions, each lmms-eval adapter's spec, frame rule and arguments."""
