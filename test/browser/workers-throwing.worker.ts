// A queue worker whose module throws before it serves anything: a bug, or a failed import.
throw new Error('the queue worker could not start')
