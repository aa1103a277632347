from logsentry.cli import main

raise SystemExit(main())
