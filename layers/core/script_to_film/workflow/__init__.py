"""The workflow: what each Task state of the two state machines does, and the contract they
keep with their ASL. `film` holds the film machine's tasks, `scene` the scene machine's (one
execution per scene), `cleanup` what runs when an execution ends outside its own paths; `ending`
ends a scene the workflow will not finish, and `batch_summary` writes a batch's summary when its
last video ends."""
