from plugyard_registry.main import main

main()
