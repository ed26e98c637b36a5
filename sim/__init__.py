"""Pure-Python side of DSTC (numpy only): configuration, bitmap format, golden and cycle models."""
