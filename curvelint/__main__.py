from curvelint.cli import main

main()
