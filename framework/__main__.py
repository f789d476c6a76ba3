from mismartera.cli import main

main()
