from stf.cli import main

raise SystemExit(main())
