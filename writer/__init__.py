"""The lab's writer: appends seqs of one topic to Cassandra, resumable, crash-safe and fast.

Run it as ``python -m writer``; configuration comes from the environment (see ``writer.config``).
This package never imports the lab's tasks or the ``lab`` library: the image ships only this folder.
"""
