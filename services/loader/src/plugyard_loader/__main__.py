from plugyard_loader.main import main

main()
