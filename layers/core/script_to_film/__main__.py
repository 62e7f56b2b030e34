from script_to_film.cli import main

raise SystemExit(main())
