"Scripts of the repository (book build, notebook round trip, launchers); not part of the installed package."
