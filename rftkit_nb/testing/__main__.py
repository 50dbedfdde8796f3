"""``python -m rftkit_nb.testing``: serve the fake OpenAI judge (see openai_server.main)."""

from rftkit_nb.testing.openai_server import main

raise SystemExit(main())
